"""The figures of one fold (``summarize``) and their mean +- std over the folds (``aggregate``)."""
from __future__ import annotations

import numpy as np


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
