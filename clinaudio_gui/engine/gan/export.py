"""Export of kept synthetic samples as a labeled data set (audio, log-mel, SPRSound labels)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

#: SPRSound record label implied by a single synthetic event of each class
EVENT_TO_RECORD = {"Normal": "Normal", "Rhonchi": "CAS", "Wheeze": "CAS", "Stridor": "CAS",
                   "Coarse Crackle": "DAS", "Fine Crackle": "DAS", "Wheeze+Crackle": "CAS & DAS"}


def export_samples(out_dir: str | Path, samples: list[dict], manifest: dict, *, model_dir: str | Path | None = None
                   ) -> list[Path]:
    """Write kept samples as a data set folder: per sample ``<stem>.wav`` (the sample's audio:
    the panel's ``GanSampler.to_audio``, Griffin-Lim refined towards the mel),
    ``<stem>.npy`` (the generated log-mel, dB) and ``<stem>.json`` (SPRSound labels: one event
    covering the clip, or the record label for a record-level generator), plus ``manifest.json``
    listing generator, seed, index and label of each file. Each sample dict needs label, seed,
    index, mel_db and audio. Existing files are never overwritten (a new suffix is used)."""
    from clinaudio_gui.core.annotations import AnnotationSet
    from clinaudio_gui.core.atomic import atomic_write_text
    from clinaudio_gui.core.segment import Segment
    from clinaudio_gui.io import write_audio, write_sprsound
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    feat = manifest["features"]
    sr = int(feat["sample_rate_hz"])
    level = (manifest.get("training_data") or {}).get("labels", "events")
    rows, written = [], []
    for s in samples:
        safe = "".join(ch if ch.isalnum() else "-" for ch in s["label"])
        stem = f"gan_{safe}_s{s['seed']}_{s['index']:03d}"
        k = 1
        while (out / f"{stem}.wav").exists() or (out / f"{stem}.json").exists():
            k += 1
            stem = f"gan_{safe}_s{s['seed']}_{s['index']:03d}_{k}"
        y = np.asarray(s["audio"], np.float32)
        dur_s = len(y) / sr
        write_audio(out / f"{stem}.wav", y, sr)
        tmp = out / f"{stem}.tmp.npy"
        np.save(tmp, np.asarray(s["mel_db"], np.float32))
        tmp.replace(out / f"{stem}.npy")
        if level == "records":
            ann = AnnotationSet([], s["label"], {})
        else:
            ann = AnnotationSet([Segment(0.0, round(dur_s, 3), s["label"], source="model")],
                                EVENT_TO_RECORD.get(s["label"], s["label"]), {})
        write_sprsound(out / f"{stem}.json", ann)
        rows.append({"audio": f"{stem}.wav", "labels": f"{stem}.json", "mel": f"{stem}.npy", "label": s["label"],
                     "seed": s["seed"], "index": s["index"], "duration_s": round(dur_s, 4)})
        written.append(out / f"{stem}.wav")
    mpath = out / "manifest.json"
    old = []
    if mpath.is_file():
        try:
            old = json.loads(mpath.read_text(encoding="utf-8")).get("samples", [])
        except (OSError, ValueError):
            old = []
    from clinaudio_gui import __version__
    atomic_write_text(mpath, json.dumps({
        "kind": "synthetic-dataset", "generator": str(model_dir) if model_dir else None,
        "generator_sha256": manifest.get("weights_sha256"), "features": feat,
        "audio": "GanSampler.to_audio of the generated log-mel (default vocoder 'refined': fast Griffin-Lim, "
                 "100 iterations, then its STFT refined by gradient descent towards the mel)",
        "software_version": __version__,
        "samples": old + rows}, indent=1) + "\n")
    return written
