"""A shared naming offset for the adventitious classes (docs/rules/session24_naming_offset.txt).

Reads ``OUT/foldK_SET.jsonl`` written by ``scripts/detector_head_naming.py`` (each decoded event's
edges, the product's name and its mean class probabilities) and renames the events offline as
``proposals.name_events`` does with ``label_offsets = {c: delta}`` for every adventitious class c
(Normal fixed at 0) on top of the package's own offsets, for delta on the rule's grid. It first checks that delta = 0 reproduces the
product's names exactly. Prints event F (sed_eval, the protocol of ``clinaudio evaluate --task
events``) per fold and delta, the best shared delta, and the cross-fitted criterion: delta chosen on
one random patient-wise half of each fold's recordings, scored on the other half against delta = 0
(both directions, ``--reps`` repetitions, every fold).

    .venv/bin/python scripts/detector_naming_offset.py runs/naming --set val
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clinaudio_gui.engine.detector.proposals import label_choice  # noqa: E402
from clinaudio_gui.io import patient_of  # noqa: E402
from clinaudio_gui.metrics.events import event_metrics  # noqa: E402

GRID = (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0)


def rename(rows, delta: float, base: dict) -> dict:
    """Names with the package's own label offsets ``base`` plus delta on every adventitious class."""
    est = {}
    for r in rows:
        cls = r["classes"]
        off = np.array([base.get(c, 0.0) + (0.0 if c == "Normal" else delta) for c in cls])
        ks = label_choice(np.array(r["means"]), off) if r["means"] else []
        est[r["audio"]] = [(e[0], e[1], cls[int(k)]) for e, k in zip(r["frame"], ks)]
    return est


def f_of(rows, est) -> float:
    ref = {r["audio"]: [tuple(e) for e in r["reference"]] for r in rows}
    dur = {r["audio"]: r["duration_s"] for r in rows}
    return float(event_metrics(ref, {r["audio"]: est[r["audio"]] for r in rows}, durations_s=dur)
                 ["event_based"]["micro"]["f"] or 0.0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--set", choices=("val", "test"), default="val")
    ap.add_argument("--cv", default="models/cv/det_cv25", help="the packages (their decoders' label offsets)")
    ap.add_argument("--folds", default="0,1,2,3,4")
    ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args(argv)
    folds = [int(x) for x in a.folds.split(",")]
    data = {}
    for k in folds:
        rows = [json.loads(x) for x in (Path(a.out) / f"fold{k}_{a.set}.jsonl").read_text().splitlines()]
        base = json.loads((Path(a.cv) / f"fold{k}" / "manifest.json").read_text())["decoder"].get("label_offsets") or {}
        est0 = rename(rows, 0.0, base)
        bad = sum(x[2] != e[2] for r in rows for x, e in zip(est0[r["audio"]], r["frame"]))
        if bad:
            raise SystemExit(f"fold {k}: delta 0 renames {bad} events; the stored means do not reproduce the product")
        data[k] = (rows, {d: rename(rows, d, base) for d in GRID})
    table = {k: {d: f_of(rows, ests[d]) for d in GRID} for k, (rows, ests) in data.items()}
    print("delta  " + "  ".join(f"fold {k}" for k in folds) + "   mean")
    for d in GRID:
        v = [table[k][d] for k in folds]
        print(f"{d:+.2f}  " + "  ".join(f"{x:.4f}" for x in v) + f"   {np.mean(v):.4f}")
    best = max(GRID, key=lambda d: (round(np.mean([table[k][d] for k in folds]), 12), -abs(d)))
    print(f"best shared delta on all of them: {best:+.2f}")
    rng = np.random.default_rng(0)
    gains = []
    for k, (rows, ests) in data.items():
        pats = sorted({patient_of(r["audio"]) for r in rows})
        for _ in range(a.reps):
            perm = rng.permutation(len(pats))
            half = {pats[i] for i in perm[:len(pats) // 2]}
            A = [r for r in rows if patient_of(r["audio"]) in half]
            B = [r for r in rows if patient_of(r["audio"]) not in half]
            for fit, ev in ((A, B), (B, A)):
                fa = {d: f_of(fit, ests[d]) for d in GRID}
                d = max(GRID, key=lambda x: (round(fa[x], 12), -abs(x)))
                gains.append(f_of(ev, ests[d]) - f_of(ev, ests[0.0]))
    g = np.array(gains)
    print(f"cross-fitted gain over delta 0: {g.mean():+.4f} (sd {g.std():.4f}, {len(g)} half-scores); "
          f"rule: adopt if >= +0.003 -> {'ADOPT' if g.mean() >= 0.003 else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
