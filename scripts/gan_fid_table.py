"""The issue-15 quality table for docs/models.md from `clinaudio gan fid --json` output: per class,
each generator's Fréchet distance and its ratio to the real held-out vs real training distance
(target <= 1.25), and its class agreement against real crops' (target >= real - 0.05).

    clinaudio gan fid --data ../shared/data/sprsound/train --models A B ... --n-per-class 50 --json > fid.json
    .venv/bin/python scripts/gan_fid_table.py fid.json [more.json ...]

Several JSON files (the same data, seed and --n-per-class, so the real references are the same)
are merged column by column; a reference that differs between files is an error.
"""
from __future__ import annotations

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


def main(paths: list[str]) -> int:
    models, pc = merge(paths)
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
    mean_fd = [sum(v["fd"][m] for v in pc.values()) / len(pc) for m in models]
    print("| mean of 7 | | " + " | ".join(f"{x:.1f}" for x in mean_fd) + " | | |")
    print()
    for m in models:
        inf = [c for c in INFORMATIVE if c in pc]
        ag = sum(pc[c]["agreement"][m] for c in inf) / len(inf)
        met_fd = [c for c in inf if pc[c].get("fd_real_heldout") and pc[c]["fd"][m] <= 1.25 * pc[c]["fd_real_heldout"]]
        met_ag = [c for c in inf if pc[c]["agreement"][m] >= pc[c]["agreement_real"] - 0.05]
        print(f"{m}: mean agreement over {', '.join(inf)} {ag:.2f} (real "
              f"{sum(pc[c]['agreement_real'] for c in inf) / len(inf):.2f}); FD target met for "
              f"{', '.join(met_fd) or 'none'}; agreement target met for {', '.join(met_ag) or 'none'}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: gan_fid_table.py FID.json [MORE.json ...]  (from `clinaudio gan fid --json`)", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
