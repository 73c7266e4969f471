"""Vocoder for auditioning generated log-mel patches: how close does the audio come back to the mel?

For N real SPRSound event patches (64 x 64 log-mel, the GAN's features), each vocoder turns the
mel into audio, the audio's mel is computed again with the same features, and we report against
the input mel:

* spectral convergence  ||M - M'||_F / ||M||_F on mel magnitude (sqrt of power; lower is better),
* log-mel distance      RMS of (dB - dB') over the bins above the -80 dB floor (dB, lower is better),
* CPU time per 0.51 s patch (median of process time, ms: robust to other processes' load).

Vocoders: librosa's mel -> linear (NNLS) then Griffin-Lim with momentum 0 (classic) or 0.99
(fast Griffin-Lim, librosa's default) at several iteration counts; and "refine" (session 24,
``engine/gan/vocoder.py``, the audition default ``GanSampler.to_audio``): fast Griffin-Lim at 100
iterations, then its STFT (log-magnitudes, phases) moved by 100 Adam steps towards the input mel. Fixed phase seed and
no randomness in the refinement, so the figures are reproducible. The refinement's two settings
(steps, step size) were picked on 12 other random patches (seed 1) and two synthetic ones.

    .venv/bin/python bench/gan_vocoder_bench.py [--n 40] [--only 0,2]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "sprsound" / "train"

VOCODERS = [("GL classic, 48 it", 48, 0.0), ("fast GL, 48 it (before)", 48, 0.99),
            ("fast GL, 100 it", 100, 0.99), ("fast GL, 200 it", 200, 0.99), ("GL classic, 200 it", 200, 0.0),
            ("fast GL 100 it + refine", 100, "refine")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default=None, help="comma list of vocoder numbers (0-based) to run")
    ap.add_argument("--cache", default=str(REPO / "runs" / "gan_cache"))
    ap.add_argument("--source", choices=("real", "generated"), default="real",
                    help="real SPRSound event patches, or patches of the bundled generator (classes in turn)")
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from clinaudio_gui.engine.gan.data import crop, load_examples, mel_db, mel_db_to_audio
    from clinaudio_gui.engine.gan.vocoder import refine
    exs, feat, _ = load_examples(DATA, labels="events", cache_dir=a.cache)
    rng = np.random.default_rng(a.seed)
    idx = rng.permutation(len(exs))[:a.n]
    mels = [crop(exs[i].mel_db, feat["frames"], rng) for i in idx]
    what = "real SPRSound event patches"
    if a.source == "generated":
        from clinaudio_gui.engine.gan.sampler import GanSampler
        s = GanSampler.load()
        mels = [s.sample(s.classes[i % len(s.classes)], 1, seed=a.seed + i)[0] for i in range(a.n)]
        what = "patches of the bundled generator"
    floor = -float(feat["top_db"])
    print(f"{len(mels)} {what} (64 x 64 log-mel, 8 kHz), seed {a.seed}")
    print(f"{'vocoder':<26} {'spectral conv.':>14} {'log-mel dist dB':>16} {'ms/patch':>9}   (means)")
    top = max(float(m.max()) for m in mels)
    print(f"loudest mel bin of the set: {top:.1f} dB")
    rows, base = [], None
    chosen = [VOCODERS[int(k)] for k in a.only.split(",")] if a.only else VOCODERS
    for name, n_iter, mom in chosen:
        sc, lsd, ts = [], [], []
        for m in mels:
            t = time.process_time()
            if mom == "refine":
                y = refine(mel_db_to_audio(m, feat, n_iter=n_iter, momentum=0.99, peak=False), m, feat)
            else:
                y = mel_db_to_audio(m, feat, n_iter=n_iter, momentum=mom)
            ts.append(time.process_time() - t)
            m2 = mel_db(y, feat)[:, :m.shape[1]]
            if m2.shape[1] < m.shape[1]:
                m2 = np.pad(m2, ((0, 0), (0, m.shape[1] - m2.shape[1])), constant_values=floor)
            p, p2 = 10 ** (m / 10), 10 ** (m2 / 10)
            sc.append(np.linalg.norm(np.sqrt(p) - np.sqrt(p2)) / np.linalg.norm(np.sqrt(p)))
            live = m > floor + 1e-3
            lsd.append(float(np.sqrt(np.mean((m[live] - m2[live]) ** 2))))
        sc, lsd = np.array(sc), np.array(lsd)
        rows.append((name, float(np.mean(sc)), float(np.mean(lsd)), 1000 * float(np.median(ts))))
        print(f"{name:<26} {rows[-1][1]:14.3f} {rows[-1][2]:16.2f} {rows[-1][3]:9.1f}   median "
              f"{np.median(sc):.3f} / {np.median(lsd):.2f} dB", flush=True)
        if base is None:
            base = (sc, lsd)
        else:
            print(f"{'':<26} closer than the first row on {int(np.sum((sc < base[0]) & (lsd < base[1])))} of "
                  f"{len(sc)} patches in both figures", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
