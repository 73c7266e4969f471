"""The figures of one fold (``summarize``), their mean +- std over the folds (``aggregate``), and
a fold bundled with them (``bundle_fold``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from clinaudio_gui.engine.common.package import STAMP_KEYS, load_model_package, save_model_package

KIND = "detector"


def summarize(m: dict) -> dict:
    ev = m["events"]
    return {
        "event_f_micro": ev["event_based"]["micro"]["f"], "event_f_macro": ev["event_based"]["macro"]["f"],
        "event_error_rate": ev["event_based"]["micro"]["error_rate"],
        "segment_f1_1s": ev["segment_based"]["micro"]["f"],
        "per_class_event_f": {k: v["f"] for k, v in ev["event_based"]["per_class"].items()},
        **{f"score_{t.replace('-', '_')}": round(m["tasks"][t]["score"], 4) for t in m["tasks"]},
        **{f"macro_f1_{t.replace('-', '_')}": round(m["tasks"][t]["macro_f1"], 4) for t in m["tasks"]},
        "score_2_2_from_events": round(m["tasks_record_from_events"]["2-2"]["score"], 4),
        "score_2_1_from_events": round(m["tasks_record_from_events"]["2-1"]["score"], 4),
        "calibration": {k: (None if v is None else round(float(v), 4)) for k, v in m["calibration"].items()},
        "n_recordings": ev["n_recordings"], "n_reference_events": ev["n_reference_events"],
    }


def aggregate(results: dict) -> dict:
    """Mean +- std (and n) of every numeric figure over the folds that have it (a fold trained with
    --train-only has none yet)."""
    keys = list(dict.fromkeys(k for r in results.values() for k, v in r.items() if isinstance(v, (int, float))))
    out = {}
    for k in keys:
        vals = [r[k] for r in results.values() if r.get(k) is not None]
        if vals:
            out[k] = {"mean": round(float(np.mean(vals)), 4), "std": round(float(np.std(vals)), 4), "n": len(vals)}
    return out


def bundle_fold(out_dir: str | Path, fold: int, dest: str | Path, *, command: str | None = None) -> Path:
    """Copy fold ``fold``'s package to ``dest`` as the bundled detector, with the k-fold figures
    (mean +- std over every fold) beside its own held-out figures in the manifest."""
    src = Path(out_dir) / f"fold{fold}"
    tensors, m = load_model_package(src, kind=KIND)
    if m.get("needs_retune"):
        raise ValueError(f"{src} was trained with --train-only: run --retune --event-head --proposals first")
    cv = json.loads((Path(out_dir) / "cv.json").read_text())
    m = {key: v for key, v in m.items() if key not in STAMP_KEYS}
    m["name"] = Path(dest).name
    m["bundled_from"] = {"fold": fold, "why": "fixed in advance (fold 0); its figures are from its own "
                                              "held-out patients, never used for any choice"}
    m["cross_validation"] = cv
    if command:
        m.setdefault("training", {})["bundle_command"] = command
    return save_model_package(dest, tensors, m)
