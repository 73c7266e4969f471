"""Evaluate a loaded Classifier on a folder of recordings with SPRSound JSON labels."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from clinaudio_gui.core.errors import ClinAudioError
from clinaudio_gui.engine.common import data as D
from clinaudio_gui.engine.common.metrics import all_metrics


def evaluate_classifier(clf, data_dir: str | Path, *, split: str = "all", batch: int = 32) -> dict:
    """SE/SP/AS/HS/Score, macro F1 and confusion for clf's task. split='val' keeps only the
    patients the model's manifest held out (the numbers reported in docs/models.md)."""
    from clinaudio_gui.io import read_audio
    items = D.load_items(data_dir, clf.level)
    if split != "all":
        val_p = set(clf.manifest.get("split", {}).get("val_patients", []))
        if not val_p:
            raise ClinAudioError("manifest has no split.val_patients", path=clf.model_dir)
        items = [i for i in items if (i.patient in val_p) == (split == "val")]
    if not items:
        raise ClinAudioError(f"no {clf.level}s to evaluate (split={split})", path=data_dir)
    y_true = np.array([clf.labels.index(D.to_task_label(i.label, clf.task)) for i in items])
    probs = []
    sr = clf.sample_rate_hz
    for a in range(0, len(items), batch):
        chunk = items[a:a + batch]
        clips = [read_audio(i.audio, start_s=i.start_s, end_s=i.end_s, target_sr=sr)[0] for i in chunk]
        if clf.level == "event":
            probs.append(clf.predict_batch(clips, sr))
        else:
            probs.append(np.stack([[clf.predict(c, sr)[2][lab] for lab in clf.labels] for c in clips]))
    p = np.concatenate(probs)
    m = all_metrics(y_true, p.argmax(axis=1), clf.labels)
    m = {"task": clf.task, **m, "data": str(data_dir), "split": split,
         "model": str(clf.model_dir) if clf.model_dir else None}
    return m
