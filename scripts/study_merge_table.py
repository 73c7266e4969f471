"""Merge the JSON of several `clinaudio study --json` calls that ran disjoint folds with the same
settings (folds are independent and seeded by fold number, so this equals one call) and print the
markdown tables of docs/models.md: per strategy macro F1 and SPRSound score over every (fold, seed)
run, recall of the rare classes, and the paired differences with t-based 95 % confidence intervals
(computed by the study's own ``paired_ci``).

    .venv/bin/python scripts/study_merge_table.py runs/study8/folds123.json runs/study8/fold4.json ...
"""
import argparse
import json
import sys

import numpy as np

from clinaudio_gui.engine.study.study import RARE_EVENT_CLASSES, paired_ci

SAME = ("task", "folds", "epochs", "seeds", "synthetic_ratio", "synthetic_schedule", "max_per_class", "seed",
        "gan_filter", "gan_truncation", "features")
PAIRS = (("gan", "none"), ("naa", "none"), ("naa+gan", "none"), ("naa+gan", "naa"), ("gan", "naa"),
         ("naa+gan", "gan"))


def merge(docs: list[dict]) -> dict:
    """{strategy: [row, ...]} sorted by (fold, seed); raises if the calls differ in settings or overlap."""
    for k in SAME:
        vals = {json.dumps(d.get(k), sort_keys=True) for d in docs}
        if len(vals) > 1:
            raise SystemExit(f"the study files differ in {k!r}: {sorted(vals)}")
    strategies = list(docs[0]["strategies"])
    if any(list(d["strategies"]) != strategies for d in docs):
        raise SystemExit("the study files ran different strategies")
    rows = {s: [] for s in strategies}
    for d in docs:
        for s in strategies:
            rows[s] += d["strategies"][s]["folds"]
    for s in strategies:
        rows[s].sort(key=lambda r: (r["fold"], r["seed"]))
        keys = [(r["fold"], r["seed"]) for r in rows[s]]
        if len(set(keys)) != len(keys):
            raise SystemExit(f"strategy {s}: a (fold, seed) run appears twice: the files overlap")
    ref = [(r["fold"], r["seed"]) for r in rows[strategies[0]]]
    if any([(r["fold"], r["seed"]) for r in rows[s]] != ref for s in strategies):
        raise SystemExit("the strategies were not run on the same (fold, seed) pairs")
    return rows


def _ci(c: dict) -> str:
    lo, hi = c.get("ci95", (float("nan"), float("nan")))
    return f"{100 * c['mean']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def tables(rows: dict, labels: list[str]) -> str:
    strategies = list(rows)
    runs = [(r["fold"], r["seed"]) for r in rows[strategies[0]]]
    folds = sorted({f for f, _ in runs})
    rare = [c for c in RARE_EVENT_CLASSES if c in labels]
    out = [f"{len(runs)} paired runs: folds {folds}, "
           f"{len(runs) // max(1, len(folds))} classifier seeds per fold", ""]
    head = "| strategy | macro F1 per fold (mean of seeds) | macro F1 mean +- std | score mean +- std | " \
           + " | ".join(f"recall {c}" for c in rare) + " |"
    out += [head, "|" + "---|" * (4 + len(rare))]
    for s in strategies:
        f1 = np.array([r["macro_f1"] for r in rows[s]])
        sc = np.array([r["score"] for r in rows[s]])
        per_fold = " ".join(f"{np.mean([r['macro_f1'] for r in rows[s] if r['fold'] == f]):.3f}" for f in folds)
        rec = []
        for c in rare:
            v = [r["recall"][c] for r in rows[s] if r["recall"].get(c) is not None]
            rec.append(f"{np.mean(v):.2f}" if v else "-")
        out.append(f"| {s} | {per_fold} | {f1.mean():.3f} +- {f1.std(ddof=1):.3f} | "
                   f"{sc.mean():.3f} +- {sc.std(ddof=1):.3f} | " + " | ".join(rec) + " |")
    out += ["", "| paired difference | macro F1, points [95 % CI] | better in | score, points [95 % CI] |",
            "|---|---:|---:|---:|"]
    for a, b in PAIRS:
        if a in rows and b in rows:
            f = paired_ci([r["macro_f1"] for r in rows[a]], [r["macro_f1"] for r in rows[b]])
            s = paired_ci([r["score"] for r in rows[a]], [r["score"] for r in rows[b]])
            out.append(f"| {a} - {b} | {_ci(f)} | {f['wins']} of {f['n']} | {_ci(s)} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+")
    args = ap.parse_args(argv)
    docs = []
    for p in args.files:
        try:
            docs.append(json.loads(open(p, encoding="utf-8").read()))
        except (OSError, ValueError) as e:
            print(f"{p}: not a readable study JSON ({e})", file=sys.stderr)
            return 2
    print(tables(merge(docs), docs[0]["labels"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
