"""Per fold of a cross-validated detector run (rows; scripts/detector_cv_table.py gives the metrics as rows): for each fold
the events its inner validation held, its epochs, the inner-validation event F of the decoder it
chose, and its test figures (event F, error rate, tasks 1-1 / 1-2 / 2-1 / 2-2); then mean +- std.

    .venv/bin/python scripts/detector_cv_folds.py runs/det_cv18 [--data ../shared/data/sprsound/train]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from clinaudio_gui.engine.detector import data as D

COLS = ("event_f_micro", "event_error_rate", "score_1_1", "score_1_2", "score_2_1", "score_2_2")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    a = ap.parse_args()
    recs = D.scan_recordings(a.data)
    by_patient: dict[str, int] = {}
    for r in recs:
        by_patient[r.patient] = by_patient.get(r.patient, 0) + sum(e[2] != "Normal" for e in r.events)
    print("| fold | inner-val adventitious events | epochs (kept) | val event F | test event F | error rate "
          "| 1-1 | 1-2 | 2-1 | 2-2 |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for mpath in sorted(Path(a.run).glob("fold*/manifest.json")):
        m = json.loads(mpath.read_text())
        t, v = m.get("metrics") or {}, m.get("validation_metrics") or {}
        if "event_f_micro" not in t:
            print(f"| {mpath.parent.name[4:]} | not yet searched |")
            continue
        n_val = sum(by_patient.get(p, 0) for p in m["split"]["inner_val_patients"])
        tr = m.get("training", {})
        kept = [h["epoch"] for h in tr.get("history", []) if h.get("best")]
        ep = f"{tr.get('epochs', '?')} ({kept[-1] if kept else '?'})"
        rows.append([t[c] for c in COLS])
        print(f"| {mpath.parent.name[4:]} | {n_val} | {ep} | {v.get('event_f_micro', float('nan')):.3f} | "
              + " | ".join(f"{t[c]:.3f}" for c in COLS) + " |")
    if rows:
        x = np.array(rows, dtype=float)
        print("| mean +- std | | | | " + " | ".join(f"{mu:.3f} +- {sd:.3f}" for mu, sd in zip(x.mean(0), x.std(0)))
              + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
