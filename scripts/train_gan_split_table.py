"""gan vs none for `clinaudio train` on the generator's held-out patients (`--val-from-gan`;
docs/rules/session17_gan_train_split.txt): per seed, the validation macro F1 and Score of the LAST
epoch (nothing picked on the reported patients) and of the epoch each run kept (picked on them),
the kept epoch's recall of the rare classes, then the mean over seeds and the paired differences
(gan - none) with a t 95 % interval over seeds.

    .venv/bin/python scripts/train_gan_split_table.py runs/clf17_none runs/clf17_none_s1 runs/clf17_none_s2 \
        --gan runs/clf17_gan runs/clf17_gan_s1 runs/clf17_gan_s2
    .venv/bin/python scripts/train_gan_split_table.py runs/clf18_naa_s0 ... --gan runs/clf18_naagan_s0 ... \
        --names naa naa+gan
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import stats

RARE = ("Rhonchi", "Stridor", "Coarse Crackle", "Wheeze+Crackle")


def figures(run: str) -> dict:
    m = json.loads((Path(run) / "manifest.json").read_text())
    last = m["history"][-1]
    v = m["validation"]
    conf = np.asarray(v["confusion"], float)
    recall = {lab: (conf[i, i] / conf[i].sum() if conf[i].sum() else float("nan")) for i, lab in enumerate(v["labels"])}
    if m["split"].get("method") != "generator-holdout":
        raise SystemExit(f"{run}: not trained with --val-from-gan (split {m['split'].get('method')})")
    return {"run": run, "val_sha": m["split"]["val_patients_sha"], "last_f1": last["macro_f1"], "last_score": last["score"],
            "kept_f1": v["macro_f1"], "kept_score": v["score"], "rare_recall": {k: recall.get(k) for k in RARE},
            "n_val": v["n"], "gan_items": (m["training"].get("gan_augment") or {}).get("n_synthetic", 0)}


def ci(d: np.ndarray) -> str:
    if len(d) < 2:
        return f"{100 * d.mean():+.1f}"
    h = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return f"{100 * d.mean():+.1f} [{100 * (d.mean() - h):+.1f}, {100 * (d.mean() + h):+.1f}]"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("none", nargs="+", help="runs without GAN items, one per seed")
    ap.add_argument("--gan", nargs="+", required=True, help="runs with --augment gan, the same seeds in the same order")
    ap.add_argument("--names", nargs=2, default=("none", "gan"), metavar=("BASE", "WITH_GAN"),
                    help="what to call the two arms (e.g. naa naa+gan for --augment naa vs naa+gan)")
    a = ap.parse_args(argv)
    if len(a.none) != len(a.gan):
        raise SystemExit("give as many gan runs as none runs (one per seed, same order)")
    none, gan = [figures(r) for r in a.none], [figures(r) for r in a.gan]
    if len({f["val_sha"] for f in none + gan}) != 1:
        raise SystemExit("the runs do not share one validation split")
    print(f"validation: {none[0]['n_val']} events of the generator's held-out patients; GAN items {gan[0]['gan_items']}")
    print("| run | last-epoch macro F1 | last-epoch Score | kept-epoch macro F1 | kept-epoch Score | kept recall "
          + " / ".join(RARE) + " |\n|---|---:|---:|---:|---:|---|")
    for f in none + gan:
        rr = " / ".join("-" if f["rare_recall"][k] is None or f["rare_recall"][k] != f["rare_recall"][k]
                        else f"{f['rare_recall'][k]:.2f}" for k in RARE)
        print(f"| {f['run']} | {f['last_f1']:.3f} | {f['last_score']:.3f} | {f['kept_f1']:.3f} | {f['kept_score']:.3f} | {rr} |")
    for key, name in (("last_f1", "last-epoch macro F1"), ("last_score", "last-epoch Score"),
                      ("kept_f1", "kept-epoch macro F1"), ("kept_score", "kept-epoch Score")):
        n, g = np.array([f[key] for f in none]), np.array([f[key] for f in gan])
        b, w = a.names
        print(f"{name}: {b} {n.mean():.3f}, {w} {g.mean():.3f}, {w} - {b} (points) {ci(g - n)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
