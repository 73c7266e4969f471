"""GAN samples as training items of the classifier (`clinaudio train --augment gan | naa+gan`).

The generator makes log-mel patches of one class; the classifier learns from its own features
(gammatone + CWT) computed from audio. So each synthetic item is a clip of the intended class:
the generator's mel (tiled to about the median duration of the class's real training events,
``GanSampler.sample_long``) inverted to audio by Griffin-Lim (``GanSampler.to_audio``), written
as a float WAV under ``<cache>/gan-audio/<key>/`` and then read back as an ordinary
:class:`~clinaudio_gui.engine.common.data.Item`, so it goes through the same feature cache as
real items. The same generator, plan, durations and seed give the same files (the folder name
is a hash of them, and an existing folder is reused).

The classifier and the GAN are independent engine subsystems (import-linter contract), so this
module never imports ``engine.gan``: the caller (the CLI) loads the generator package and hands
in the loaded sampler (anything with ``classes``, ``manifest``, ``features``, ``sample_long``
and ``to_audio``).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from clinaudio_gui.engine.common import data as D

#: patient id of every synthetic item (never a real patient, never in a validation split)
SYNTHETIC_PATIENT = "synthetic-gan"
#: Griffin-Lim iterations for the synthetic clips (GanSampler.to_audio's, with vocoder="griffin-lim":
#: the recipe measured in sessions 17-20, kept when the audition default became "refined")
VOCODER_ITERATIONS = 100
_FORMAT = 1  # bump when the synthetic-clip recipe changes, so old folders are not reused


@dataclass
class GanAugment:
    """What `--augment gan` needs: the loaded generator, where it came from, the number of
    synthetic items per real training item of each minority class, and the latent seed."""
    sampler: Any
    model_dir: str
    ratio: float = 0.5
    seed: int = 0
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if not (isinstance(self.ratio, (int, float)) and np.isfinite(self.ratio) and self.ratio > 0):
            raise ValueError(f"--gan-ratio {self.ratio} must be a number > 0")


def split_strategy(augment: str | None) -> tuple[str | None, bool]:
    """(audio recipe or None, uses the GAN): 'gan' -> (None, True), 'naa+gan' -> ('naa', True),
    'naa' or a recipe file -> ('naa', False)."""
    if not augment:
        return None, False
    a = str(augment).strip()
    if a.lower() == "gan":
        return None, True
    if a.lower().endswith("+gan"):
        recipe = a[:-4].strip()
        if not recipe:
            raise ValueError(f"--augment {augment!r}: give a recipe before '+gan' (e.g. naa+gan)")
        return recipe, True
    return a, False


def generator_level(manifest: dict) -> str:
    """'event' or 'record': the label level the generator was trained on."""
    labels = (manifest.get("training_data") or {}).get("labels", "events")
    return "record" if str(labels).startswith("record") else "event"


def check_generator(gan: GanAugment, level: str, task: str) -> None:
    """A clear error when the generator's classes cannot serve this task."""
    glevel = generator_level(gan.sampler.manifest)
    if glevel != level:
        raise ValueError(f"--gan-model {gan.model_dir}: the generator makes {glevel}s but task {task} classifies "
                         f"{level}s (GAN augmentation needs a {level}-level generator; the bundled one is "
                         f"event-level: tasks 1-1 / 1-2)")
    if not [c for c in gan.sampler.classes if c in D.FINE_LABELS[level]]:
        raise ValueError(f"--gan-model {gan.model_dir}: none of its classes {gan.sampler.classes} is a "
                         f"{level} class of SPRSound")


def minority_classes(counts: np.ndarray) -> list[int]:
    """The classes the built-in augment path helps: present, and under a quarter of the largest."""
    return [k for k in range(len(counts)) if 0 < counts[k] < counts.max() / 4]


def plan_synthetic(counts: np.ndarray, out_labels: list[str], to_out: Callable[[str], str],
                   generator_classes: list[str], level: str, ratio: float) -> dict[str, int]:
    """{generator class: number of synthetic items}: for each minority output class k,
    max(1, round(ratio * counts[k])) items spread evenly over the generator classes that map to
    it (a merged class such as Adventitious draws its fine classes in turn). Classes the
    generator does not have get none."""
    raws = [c for c in generator_classes if c in D.FINE_LABELS[level]]
    plan: dict[str, int] = {}
    for k in minority_classes(counts):
        mine = [r for r in raws if to_out(r) == out_labels[k]]
        if not mine:
            continue
        n = max(1, int(round(ratio * float(counts[k]))))
        for j, r in enumerate(mine):
            m = n // len(mine) + (1 if j < n % len(mine) else 0)
            if m:
                plan[r] = plan.get(r, 0) + m
    return {r: plan[r] for r in generator_classes if r in plan}


def class_durations(train_items: list[D.Item], plan: dict[str, int], *, max_s: float, default_s: float
                    ) -> dict[str, float]:
    """Clip length per generator class: the median duration of its real training events (at most
    max_s, the classifier's window), else default_s."""
    out = {}
    for r in plan:
        d = [it.end_s - it.start_s for it in train_items if it.label == r and it.end_s is not None]
        out[r] = round(float(min(max_s, np.median(d))) if d else float(default_s), 3)
    return out


def synthesize_items(gan: GanAugment, plan: dict[str, int], durations: dict[str, float], *,
                     sample_rate_hz: int, cache_dir: str | Path, log: Callable[[str], None] = print
                     ) -> list[D.Item]:
    """Synthetic items (float WAVs at the classifier's rate) for the plan; class r uses the
    latent seed ``seed * 1000 + (index of r among the generator's classes)``."""
    from clinaudio_gui.io import write_audio
    s = gan.sampler
    key_src = json.dumps([_FORMAT, s.manifest.get("weights_sha256"), s.features, sorted(plan.items()),
                          sorted(durations.items()), int(gan.seed), int(sample_rate_hz), VOCODER_ITERATIONS])
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    root = Path(cache_dir) / "gan-audio"
    final = root / key
    index = final / "items.json"
    if not index.is_file():
        tmp = root / f"{key}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        rows = []
        gen_sr = int(s.features["sample_rate_hz"])
        for r, n in plan.items():
            sd = int(gan.seed) * 1000 + s.classes.index(r)
            imgs = s.sample_long(r, n, durations[r], seed=sd)
            safe = "".join(ch if ch.isalnum() else "-" for ch in r)
            for j, img in enumerate(imgs):
                y = np.asarray(s.to_audio(img, n_iter=VOCODER_ITERATIONS, vocoder="griffin-lim"), np.float32)
                if gen_sr != sample_rate_hz:
                    import librosa
                    y = librosa.resample(y, orig_sr=gen_sr, target_sr=int(sample_rate_hz)).astype(np.float32)
                name = f"{len(rows):04d}_{safe}.wav"
                write_audio(tmp / name, y, int(sample_rate_hz), subtype="FLOAT")
                rows.append({"file": name, "label": r, "seed": sd, "index": j,
                             "duration_s": round(len(y) / sample_rate_hz, 4)})
        (tmp / "items.json").write_text(json.dumps({"generator": gan.model_dir, "seed": gan.seed,
                                                    "items": rows}, indent=1) + "\n")
        try:
            os.replace(tmp, final)
        except OSError:  # another process (a DDP rank) finished the same folder first
            shutil.rmtree(tmp, ignore_errors=True)
        log(f"GAN: vocoded {len(rows)} synthetic clips (Griffin-Lim) -> {final}")
    rows = json.loads(index.read_text())["items"]
    return [D.Item(str(final / r["file"]), SYNTHETIC_PATIENT, r["label"]) for r in rows]


def generator_training_patients(manifest: dict, model_dir: str) -> list[str]:
    """The generator's training patients for `--val-from-gan`; a one-line ValueError naming the
    generator folder when its manifest does not record them."""
    seen = manifest.get("training_patients")
    if not seen:
        raise ValueError(f"--val-from-gan: the generator {model_dir} does not record its training patients "
                         f"(no training_patients in its manifest.json), so its held-out patients are unknown")
    return list(seen)


def generator_holdout_split(manifest: dict, model_dir: str, data_dir) -> tuple[list[str], list[str], int]:
    """`--val-from-gan`: (training patients, validation patients, recordings without a patient id)
    of the classifier. Validation is every patient of data_dir that the generator did not train on
    (its manifest's ``training_patients``); every other patient is training. Patient ids are the
    split's own (``D.folder_patients``: the id in the file name, else the file stem); a recording
    whose name carries no patient id stays in training (the generator records no id for it either,
    so it may have trained on it). A one-line ValueError naming the generator folder when the
    manifest has no training patients or either part would be empty."""
    seen = set(generator_training_patients(manifest, model_dir))
    unnamed = {D.file_stem(a) for a, _ in D.find_pairs(data_dir) if D.patient_of(a) is None}
    patients = D.folder_patients(data_dir)
    val_p = sorted(p for p in patients if p not in seen and p not in unnamed)
    train_p = sorted(p for p in patients if p in seen or p in unnamed)
    if not val_p:
        raise ValueError(f"--val-from-gan: the generator {model_dir} trained on every patient of {data_dir} "
                         f"({len(patients)}): none is held out for validation")
    if not train_p:
        raise ValueError(f"--val-from-gan: the generator {model_dir} trained on none of the {len(patients)} "
                         f"patients of {data_dir}: nothing would be left for training")
    return train_p, val_p, len(unnamed)


def validation_patients_seen(manifest: dict, val_patients: list[str]) -> int | None:
    """How many of the classifier's validation patients the generator trained on (None when the
    generator package does not record its training patients)."""
    seen = manifest.get("training_patients")
    if not seen:
        return None
    return len(set(seen) & set(val_patients))


def leakage_warning(n_seen: int | None, n_val: int, model_dir: str) -> str | None:
    """The one-line warning for stderr, or None when the generator saw no validation patient."""
    if n_seen is None:
        return (f"warning: --gan-model {model_dir} does not record its training patients; cannot check "
                f"whether it saw the {n_val} validation patients (validation may be optimistic)")
    if n_seen:
        return (f"warning: the generator {model_dir} was trained on {n_seen} of the {n_val} validation "
                f"patients: its synthetic items can carry their sounds into training, so validation "
                f"scores may be optimistic")
    return None
