"""How many events each fold's inner validation holds, with the random split (the bundled folds')
and the stratified one (`detect-train --inner-split stratified`), and what fold k's decoder found on
its test patients (from a run's manifests). The figures of docs/models.md, session 11.

    .venv/bin/python scripts/detector_inner_split_counts.py [--run runs/det_cv17]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from clinaudio_gui.engine.detector import data as D


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    ap.add_argument("--run", default="runs/det_cv17", help="fold packages whose test figures to show ('' = none)")
    a = ap.parse_args()
    recs = D.scan_recordings(a.data)
    fold = D.patient_kfold(recs, 5, seed=0)
    for k in range(5):
        rest = np.flatnonzero(fold != k)
        row = [f"fold {k}"]
        for kind in D.INNER_SPLITS:
            _tr, va = D.inner_split(recs, rest, seed=k, kind=kind)
            n_ev = sum(len(recs[i].events) for i in va)
            adv = sum(1 for i in va for e in recs[i].events if e[2] != "Normal")
            row.append(f"{kind}: {len({recs[i].patient for i in va})} patients, {len(va)} recordings, "
                       f"{n_ev} events, {adv} adventitious")
        mf = Path(a.run) / f"fold{k}" / "manifest.json" if a.run else None
        if mf is not None and mf.is_file():
            ev = json.loads(mf.read_text())["metrics_full"]["events"]
            mi = ev["event_based"]["micro"]
            row.append(f"test: {ev['n_estimated_events']} detected / {ev['n_reference_events']} reference events, "
                       f"recall {mi['recall']:.3f}, event F {mi['f']:.3f}")
        print(" | ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
