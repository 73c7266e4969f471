"""Scoring a detector package on a labelled folder: event metrics (sed_eval) and the four tasks.

Runs the package exactly as users do (``Detector.detect_file``: blocks, quality gate,
calibration, decoder of the manifest), so the figures are those of `clinaudio detect`.
``split="val"``: only the patients the package never trained or tuned on (its manifest's
``split.test_patients``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from clinaudio_gui.engine.common.data import EVENT_LABELS, RECORD_LABELS
from clinaudio_gui.engine.detector import data as D
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.infer import Detector
from clinaudio_gui.metrics.events import event_metrics


def select_recordings(det: Detector, data_dir: str | Path, split: str) -> list[D.Recording]:
    recs = D.scan_recordings(data_dir)
    if split == "all":
        return recs
    pats = set(det.manifest.get("split", {}).get("test_patients", []))
    if not pats:
        raise ValueError(f"split={split!r}: the model's manifest names no held-out patients")
    if split == "val":
        return [r for r in recs if r.patient in pats]
    if split == "train":
        return [r for r in recs if r.patient not in pats]
    raise ValueError(f"split={split!r} must be all, val or train")


def evaluate_detector(det: Detector, data_dir: str | Path, *, task: str = "events", split: str = "all",
                      progress=None) -> dict:
    recs = select_recordings(det, data_dir, split)
    if not recs:
        raise ValueError(f"no labelled recordings to evaluate in {data_dir} (split={split})")
    ref, est, dur = {}, {}, {}
    ev_true, ev_probs, rec_true, rec_probs, rec_pred = [], [], [], [], []
    for i, r in enumerate(recs):
        res = det.detect_file(r.audio, with_frames=True, with_sequence=task in ("1-1", "1-2"))
        ref[r.audio] = list(r.events)
        est[r.audio] = [(e["start_s"], e["end_s"], e["label"]) for e in res["events"]]
        dur[r.audio] = r.duration_s
        if r.events:
            ev_true += [e[2] for e in r.events]
            ev_probs.append(det.event_probabilities(res, r.events) if task in ("1-1", "1-2") else
                            S.event_class_probs(res["frame_probabilities"], r.events, res["hop_s"]))
        rec_true.append(r.record_label)
        rec_probs.append([res["record_probabilities"][c] for c in RECORD_LABELS])
        rec_pred.append(res["record_label"])
        if progress is not None:
            progress(i + 1, len(recs))
    out: dict = {"model": det.version, "data": str(data_dir), "split": split, "n_recordings": len(recs)}
    if task == "events":
        out.update(event_metrics(ref, est, durations_s=dur))
        return out
    offsets = det.manifest.get("calibration", {}).get("offsets", {}).get(task)
    off = None if offsets is None else np.asarray(offsets)
    if task in ("1-1", "1-2"):
        p = np.concatenate(ev_probs) if ev_probs else np.zeros((0, len(EVENT_LABELS)))
        m = S.task_metrics(ev_true, p, task, off)
    elif task in ("2-1", "2-2"):
        # the label users see (calibration, offsets, quality gate applied), merged for 2-1
        p = np.eye(len(RECORD_LABELS))[[RECORD_LABELS.index(x) for x in rec_pred]]
        m = S.task_metrics(rec_true, p, task, None)
        m["record_source"] = det.record_source
    else:
        raise ValueError(f"task={task!r} must be events, 1-1, 1-2, 2-1 or 2-2")
    m["task"] = task
    out.update(m)
    return out
