"""GAN training speed on this CPU: generator steps per second (each with n_critic critic steps,
gradient penalty, batch 32, 1 torch thread, random 64 x 64 inputs so data loading is excluded).

    .venv/bin/python bench/gan_speed_bench.py [--steps 6]

Configurations: the session-1 generator (class at the input, projection critic), the issue-15
default (conditional BN generator, projection + auxiliary-classifier critic, DiffAugment), the
same with 2 critic steps, and a half-width generator. Median seconds per generator step after
one warm-up step. On the shared 2-core machine the figure depends on the other jobs' load: report
the load average with it.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CONFIGS = [("Generator", 128, 5, False, False), ("CBNGenerator", 128, 5, True, True),
           ("CBNGenerator", 128, 2, True, True), ("CBNGenerator", 64, 5, True, True)]


def run(gen: str, g_ch: int, n_critic: int, ac: bool, da: bool, steps: int, batch: int = 32) -> tuple[float, int]:
    import torch
    import torch.nn.functional as F
    from clinaudio_gui.engine.gan.model import Critic, build_generator, diff_augment, gradient_penalty
    torch.manual_seed(0)
    arch = {"z_dim": 128, "embed_dim": 32, "base_channels": g_ch, "se": True, "generator": gen}
    G = build_generator(arch, 7, n_mels=64, frames=64)
    D = Critic(7, base_channels=16, ac=ac)
    og = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.5, 0.9))
    od = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.5, 0.9))

    def aug(x):
        return diff_augment(x, ("translation", "cutout")) if da else x
    ts = []
    for _ in range(steps):
        t = time.perf_counter()
        for _ in range(n_critic):
            real, y, z = torch.randn(batch, 1, 64, 64), torch.randint(0, 7, (batch,)), torch.randn(batch, 128)
            with torch.no_grad():
                fake = G(z, y)
            ra, fa = aug(real), aug(fake)
            s, lg = D.score_and_logits(ra, y)
            loss = D(fa, y).mean() - s.mean() + 10 * gradient_penalty(D, ra, fa, y)
            if lg is not None:
                loss = loss + F.cross_entropy(lg, y)
            od.zero_grad()
            loss.backward()
            od.step()
        s, lg = D.score_and_logits(aug(G(z, y)), y)
        loss = -s.mean() + (F.cross_entropy(lg, y) if lg is not None else 0)
        og.zero_grad()
        loss.backward()
        og.step()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts[1:])), sum(p.numel() for p in G.parameters())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=6)
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.1f}; 1 torch thread; batch 32")
    print(f"{'generator':<13} {'G ch':>5} {'n_critic':>8} {'AC':>3} {'DiffAug':>7} {'G params':>9} {'G steps/s':>10}")
    for gen, ch, nc, ac, da in CONFIGS:
        sec, n = run(gen, ch, nc, ac, da, a.steps)
        print(f"{gen:<13} {ch:>5} {nc:>8} {str(ac):>3} {str(da):>7} {n:>9} {1 / sec:>10.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
