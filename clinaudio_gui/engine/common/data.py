"""SPRSound tasks, items (records or events cut by the JSON times) and the patient-wise split."""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clinaudio_gui.core.errors import ClinAudioError
from clinaudio_gui.io import patient_of, read_sprsound
from clinaudio_gui.io.sprsound import file_stem

EVENT_LABELS = ["Normal", "Rhonchi", "Wheeze", "Stridor", "Coarse Crackle", "Fine Crackle", "Wheeze+Crackle"]
RECORD_LABELS = ["Normal", "CAS", "DAS", "CAS & DAS", "Poor Quality"]

# task -> (level, task labels, {task label: [fine labels]})
TASKS: dict[str, dict] = {
    "1-1": {"level": "event", "labels": ["Normal", "Adventitious"],
            "merge": {"Normal": ["Normal"], "Adventitious": EVENT_LABELS[1:]}},
    "1-2": {"level": "event", "labels": list(EVENT_LABELS), "merge": {k: [k] for k in EVENT_LABELS}},
    "2-1": {"level": "record", "labels": ["Normal", "Adventitious", "Poor Quality"],
            "merge": {"Normal": ["Normal"], "Adventitious": ["CAS", "DAS", "CAS & DAS"],
                      "Poor Quality": ["Poor Quality"]}},
    "2-2": {"level": "record", "labels": list(RECORD_LABELS), "merge": {k: [k] for k in RECORD_LABELS}},
}
FINE_LABELS = {"event": EVENT_LABELS, "record": RECORD_LABELS}
RECORD_ALIASES = {"cas&das": "CAS & DAS", "cas & das": "CAS & DAS", "poor quality": "Poor Quality",
                  "normal": "Normal", "cas": "CAS", "das": "DAS"}


def check_task(task: str) -> dict:
    if task not in TASKS:
        raise ValueError(f"task={task!r} is not one of {', '.join(TASKS)}")
    return TASKS[task]


def to_task_label(fine_label: str, task: str) -> str:
    for k, v in TASKS[task]["merge"].items():
        if fine_label in v:
            return k
    raise ValueError(f"label {fine_label!r} does not belong to task {task}")


@dataclass(frozen=True)
class Item:
    audio: str          # path to the audio file
    patient: str
    label: str          # fine label (7 event classes or 5 record classes)
    start_s: float = 0.0
    end_s: float | None = None   # None: whole record


def find_pairs(data_dir: str | Path) -> list[tuple[Path, Path]]:
    """(audio, json) pairs in a folder (SPRSound layout: same stem, .wav/.flac + .json)."""
    d = Path(data_dir)
    if not d.is_dir():
        raise ClinAudioError("data folder not found", path=d)
    pairs = []
    for j in sorted(d.glob("*.json")):
        if j.name.endswith(".clinaudio.json"):
            continue
        stem = file_stem(j)
        for ext in (".wav", ".flac", ".WAV", ".FLAC"):
            a = d / (stem + ext)
            if a.is_file():
                pairs.append((a, j))
                break
    if not pairs:
        raise ClinAudioError("no recordings with SPRSound JSON labels (NAME.wav/.flac + NAME.json)", path=d)
    return pairs


def normalize_record_label(label: str | None, path) -> str:
    key = (label or "").strip()
    if key in RECORD_LABELS:
        return key
    key2 = RECORD_ALIASES.get(key.lower().replace("  ", " "))
    if key2 is None:
        raise ClinAudioError(f"record label {label!r} is not one of {RECORD_LABELS}", path=path,
                             field="record_annotation")
    return key2


def load_items(data_dir: str | Path, level: str) -> list[Item]:
    """Every record (level='record') or every event cut by its JSON times (level='event')."""
    items = []
    for audio, js in find_pairs(data_dir):
        a = read_sprsound(js)
        patient = patient_of(audio) or file_stem(audio)
        if level == "record":
            items.append(Item(str(audio), patient, normalize_record_label(a.record_label, js)))
        else:
            for seg in a.sorted_segments():
                if seg.label not in EVENT_LABELS:
                    raise ClinAudioError(f"event label {seg.label!r} is not one of {EVENT_LABELS}", path=js)
                if seg.end_s - seg.start_s <= 0.01:
                    continue
                items.append(Item(str(audio), patient, seg.label, seg.start_s, seg.end_s))
    return items


def patient_split(patients, *, val_fraction: float = 0.2, seed: int = 0) -> tuple[list[str], list[str]]:
    """Sorted unique patients shuffled with a fixed seed; the first ~val_fraction go to validation."""
    ps = sorted(set(patients))
    rng = random.Random(seed)
    rng.shuffle(ps)
    n_val = max(1, int(round(len(ps) * val_fraction))) if len(ps) > 1 else 0
    return sorted(ps[n_val:]), sorted(ps[:n_val])


def folder_patients(data_dir: str | Path) -> list[str]:
    """Every patient with a labelled recording in the folder (the split is made over these, so
    event and record tasks share one split)."""
    return sorted({patient_of(a) or file_stem(a) for a, _ in find_pairs(data_dir)})


def split_items(items: list[Item], *, val_fraction=0.2, seed=0, patients: list[str] | None = None):
    """(train items, val items, train patients, val patients); the split is over `patients`
    (default: the items' patients)."""
    train_p, val_p = patient_split(patients if patients is not None else [i.patient for i in items],
                                   val_fraction=val_fraction, seed=seed)
    vs = set(val_p)
    return [i for i in items if i.patient not in vs], [i for i in items if i.patient in vs], train_p, val_p


def split_digest(patients: list[str]) -> str:
    return hashlib.sha256(json.dumps(sorted(patients)).encode()).hexdigest()[:16]


def fit_length(y: np.ndarray, n: int, *, rng: np.random.Generator | None = None) -> np.ndarray:
    """Crop (random if rng, else centred) or zero-pad (centred) to n samples."""
    if len(y) >= n:
        off = int(rng.integers(0, len(y) - n + 1)) if rng is not None else (len(y) - n) // 2
        return y[off:off + n]
    out = np.zeros(n, np.float32)
    off = (n - len(y)) // 2
    out[off:off + len(y)] = y
    return out
