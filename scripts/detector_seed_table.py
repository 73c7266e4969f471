"""Two (or more) runs of one recipe on the same folds, side by side (docs/rules/session26_seed_replicate.txt):
per fold and metric each run's test figure and their mean; the runs' CV means +- std over folds, and
the CV figure of the per-fold mean (the recipe's figure over seeds); the mean absolute difference
between the first two runs' per-fold figures.

    .venv/bin/python scripts/detector_seed_table.py models/cv/det_cv25 models/seed-runs/det_s1
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detector_cv_table import folds_of  # noqa: E402

KEYS = [("event_f_micro", "event F micro"), ("event_error_rate", "event ER"), ("score_1_1", "1-1 Score"),
        ("score_1_2", "1-2 Score"), ("score_2_1", "2-1 Score"), ("score_2_2", "2-2 Score")]


def table(runs: list[str]) -> list[str]:
    folds = [folds_of(Path(r)) for r in runs]
    ks = sorted(folds[0], key=int)
    for r, f in zip(runs, folds):
        if sorted(f, key=int) != ks or any(not f[k] for k in ks):
            raise SystemExit(f"{r}: not the same searched folds as {runs[0]} ({sorted(f, key=int)} vs {ks})")
    names = [Path(r).name for r in runs]
    lines = ["| metric | fold | " + " | ".join(names) + " | mean |", "|---|---|" + "---:|" * (len(runs) + 1)]
    for key, label in KEYS:
        per = np.array([[f[k][key] for k in ks] for f in folds])          # (runs, folds)
        for j, k in enumerate(ks):
            cells = " | ".join(f"{v:.3f}" for v in per[:, j])
            lines.append(f"| {label} | {k} | {cells} | {per[:, j].mean():.3f} |")
        cells = " | ".join(f"{row.mean():.3f} +- {row.std():.3f}" for row in per)
        mean = per.mean(0)
        lines.append(f"| **{label}** | CV | {cells} | **{mean.mean():.3f} +- {mean.std():.3f}** |")
        if len(runs) >= 2:
            d = np.abs(per[0] - per[1]).mean()
            lines.append(f"| {label} | mean abs. difference (first two) | {d:.3f} |" + " |" * len(runs))
    return lines


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    print("\n".join(table(sys.argv[1:])))
