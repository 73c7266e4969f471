"""The issue-15 quality table for docs/models.md from `clinaudio gan fid --json` output: per class,
each generator's Fréchet distance and its ratio to the real held-out vs real training distance
(target <= 1.25), and its class agreement against real crops' (target >= real - 0.05).

    clinaudio gan fid --data ../shared/data/sprsound/train --models A B ... --n-per-class 50 --json > fid.json
    .venv/bin/python scripts/gan_fid_table.py fid.json [more.json ...] [--group SE=a,b,c --group noSE=d,e,f]

--group NAME=M1,M2,...: a summary of those generators (e.g. the seeds of one design): mean +- std
over them of the mean FD over every class and of the mean agreement over the informative classes,
and for two groups Welch's t-test on each (scipy).

Several JSON files (the same data, seed and --n-per-class, so the real references are the same)
are merged column by column; a reference that differs between files is an error.
"""
from __future__ import annotations

import argparse
import json
import sys

INFORMATIVE = ("Normal", "Rhonchi", "Wheeze", "Fine Crackle")   # real crops are recognised at all


def merge(paths: list[str]) -> tuple[list[str], dict]:
    models: list[str] = []
    per_class: dict = {}
    for p in paths:
        try:
            d = json.loads(open(p, encoding="utf-8").read())
            d["models"], d["per_class"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"{p}: not a readable `clinaudio gan fid --json` output ({type(e).__name__}: {e})", file=sys.stderr)
            raise SystemExit(2)
        for m in d["models"]:
            if m not in models:
                models.append(m)
        for c, v in d["per_class"].items():
            if c not in per_class:
                per_class[c] = {**v, "fd": dict(v["fd"]), "agreement": dict(v.get("agreement", {}))}
                continue
            old = per_class[c]
            for k in ("agreement_real", "fd_real_heldout", "n_real_patches"):
                if old.get(k) != v.get(k):
                    raise SystemExit(f"{p}: class {c}: {k} {v.get(k)} differs from {old.get(k)} (other data or seed?)")
            old["fd"].update(v["fd"])
            old["agreement"].update(v.get("agreement", {}))
    return models, per_class


def scores(pc: dict, m: str) -> tuple[float, float]:
    """(mean FD over every class, mean agreement over the informative classes) of generator m."""
    inf = [c for c in INFORMATIVE if c in pc]
    return (sum(v["fd"][m] for v in pc.values()) / len(pc),
            sum(pc[c]["agreement"][m] for c in inf) / len(inf))


def groups_summary(pc: dict, groups: list[tuple[str, list[str]]]) -> list[str]:
    import numpy as np
    from scipy import stats
    out, vals = [], {}
    for name, members in groups:
        fd, ag = np.array([scores(pc, m) for m in members]).T
        vals[name] = (fd, ag)
        out.append(f"{name} ({len(members)}): mean FD {fd.mean():.1f} +- {fd.std(ddof=1) if len(fd) > 1 else 0:.1f}; "
                   f"mean agreement {ag.mean():.3f} +- {ag.std(ddof=1) if len(ag) > 1 else 0:.3f}")
    if len(groups) == 2 and all(len(m) > 1 for _, m in groups):
        (a, (fa, aa)), (b, (fb, ab)) = vals.items()
        for what, x, y in (("mean FD", fa, fb), ("mean agreement", aa, ab)):
            t = stats.ttest_ind(x, y, equal_var=False)
            out.append(f"{a} - {b}, {what}: {x.mean() - y.mean():+.3f} (Welch t {t.statistic:.2f}, p {t.pvalue:.3f})")
    return out


def main(paths: list[str], groups: list[tuple[str, list[str]]] | None = None) -> int:
    models, pc = merge(paths)
    for name, members in groups or []:
        missing = [m for m in members if m not in models]
        if missing:
            print(f"--group {name}: {', '.join(missing)} not in the input (have: {', '.join(models)})",
                  file=sys.stderr)
            raise SystemExit(2)
    print("| class | real train events | " + " | ".join(f"FD {m} (x real)" for m in models)
          + " | FD real held-out | agreement " + " / ".join(models) + " / real |")
    print("|---|---:|" + "---:|" * len(models) + "---:|---|")
    for c, v in pc.items():
        ref = v.get("fd_real_heldout")
        cells = []
        for m in models:
            fd = v["fd"][m]
            cells.append(f"{fd:.1f}" + (f" ({fd / ref:.2f})" if ref else ""))
        ag = " / ".join(f"{v['agreement'].get(m, float('nan')):.2f}" for m in models)
        print(f"| {c} | {v['n_real_events']} | " + " | ".join(cells)
              + f" | {'-' if ref is None else f'{ref:.1f}'} | {ag} / {v['agreement_real']:.2f} |")
    print("| mean of 7 | | " + " | ".join(f"{scores(pc, m)[0]:.1f}" for m in models) + " | | |")
    print()
    inf = [c for c in INFORMATIVE if c in pc]
    for m in models:
        ag = scores(pc, m)[1]
        met_fd = [c for c in inf if pc[c].get("fd_real_heldout") and pc[c]["fd"][m] <= 1.25 * pc[c]["fd_real_heldout"]]
        met_ag = [c for c in inf if pc[c]["agreement"][m] >= pc[c]["agreement_real"] - 0.05]
        print(f"{m}: mean agreement over {', '.join(inf)} {ag:.2f} (real "
              f"{sum(pc[c]['agreement_real'] for c in inf) / len(inf):.2f}); FD target met for "
              f"{', '.join(met_fd) or 'none'}; agreement target met for {', '.join(met_ag) or 'none'}")
    if groups:
        print()
        for line in groups_summary(pc, groups):
            print(line)
    return 0


def _group(text: str) -> tuple[str, list[str]]:
    name, _, members = text.partition("=")
    names = [m for m in members.split(",") if m]
    if not name or not names:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=M1,M2,...")
    return name, names


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="the issue-15 quality table from `clinaudio gan fid --json` output")
    ap.add_argument("files", nargs="+", metavar="FID.json")
    ap.add_argument("--group", action="append", type=_group, default=[], metavar="NAME=M1,M2,...")
    a = ap.parse_args()
    sys.exit(main(a.files, a.group))
