"""Figures of a generator package: a sample grid and real-vs-synthetic patches per class.

    python scripts/gan_figures.py --data ../shared/data/sprsound/train \
        [--model models/gan-sprsound-events] [--out models/gan-sprsound-events]

Writes OUT/samples.png (6 generated patches per class, fixed seeds) and OUT/real_vs_synthetic.png
(per class: 3 random 64-frame crops of the generator's *training* events, then 3 generated ones).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the labeled data set the generator was trained on")
    ap.add_argument("--model", default=None, help="generator package (default: the bundled one)")
    ap.add_argument("--out", default=None, help="folder for the PNGs (default: the model folder)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default="runs/gan_cache")
    args = ap.parse_args(argv)

    from clinaudio_gui.engine.gan.sampler import GanSampler, default_model_dir
    from clinaudio_gui.engine.gan.train import write_sample_grid
    from clinaudio_gui.engine.gan.data import load_examples
    from clinaudio_gui.engine.gan.quality import real_patches

    model_dir = Path(args.model) if args.model else default_model_dir()
    out = Path(args.out) if args.out else model_dir
    g = GanSampler.load(model_dir)
    man = g.manifest
    frames = g.features["frames"]
    epochs = man.get("training", {}).get("epochs_done")
    steps = sum(h.get("steps", 0) for h in man.get("history", []))
    tag = f"{model_dir.name}: {epochs} epochs, {steps} generator steps"

    grid = np.concatenate([g.sample(c, 6, seed=args.seed + i) for i, c in enumerate(g.classes)])
    write_sample_grid(out / "samples.png", grid, g.classes, title=f"generated, {tag}")

    exs, _, _ = load_examples(args.data, labels=man.get("training_data", {}).get("labels", "events"),
                              features=g.features, cache_dir=args.cache or None)
    seen = set(man.get("training_patients") or [])
    if seen:
        exs = [e for e in exs if e.patient in seen]
    rows = []
    for i, c in enumerate(g.classes):
        real = real_patches(exs, c, 3, frames, seed=args.seed + i)
        if len(real) == 0:
            real = np.full((3, g.features["n_mels"], frames), -80.0, np.float32)
        rows.append(np.concatenate([real, g.sample(c, 3, seed=args.seed + 100 + i)]))
    write_sample_grid(out / "real_vs_synthetic.png", np.concatenate(rows), g.classes,
                      title=f"left 3: real training events, right 3: generated ({tag})")
    print(f"wrote {out / 'samples.png'} and {out / 'real_vs_synthetic.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
