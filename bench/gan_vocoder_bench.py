"""Vocoder for auditioning generated log-mel patches: how close does the audio come back to the mel?

For N real SPRSound event patches (64 x 64 log-mel, the GAN's features), each vocoder turns the
mel into audio, the audio's mel is computed again with the same features, and we report against
the input mel:

* spectral convergence  ||M - M'||_F / ||M||_F on mel magnitude (sqrt of power; lower is better),
* log-mel distance      RMS of (dB - dB') over the bins above the -80 dB floor (dB, lower is better),
* CPU time per 0.51 s patch (median of process time, ms: robust to other processes' load).

Vocoders: librosa's mel -> linear (NNLS) then Griffin-Lim with momentum 0 (classic) or 0.99
(fast Griffin-Lim, librosa's default) at several iteration counts. Fixed phase seed, so the
figures are reproducible.

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
            ("fast GL, 100 it", 100, 0.99), ("fast GL, 200 it", 200, 0.99), ("GL classic, 200 it", 200, 0.0)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default=None, help="comma list of vocoder numbers (0-based) to run")
    ap.add_argument("--cache", default=str(REPO / "runs" / "gan_cache"))
    a = ap.parse_args(argv)
    from clinaudio_gui.engine.gan.data import crop, load_examples, mel_db, mel_db_to_audio
    exs, feat, _ = load_examples(DATA, labels="events", cache_dir=a.cache)
    rng = np.random.default_rng(a.seed)
    idx = rng.permutation(len(exs))[:a.n]
    mels = [crop(exs[i].mel_db, feat["frames"], rng) for i in idx]
    floor = -float(feat["top_db"])
    print(f"{len(mels)} real SPRSound event patches (64 x 64 log-mel, 8 kHz), random events, seed {a.seed}")
    print(f"{'vocoder':<26} {'spectral conv.':>14} {'log-mel dist dB':>16} {'ms/patch':>9}")
    rows = []
    chosen = [VOCODERS[int(k)] for k in a.only.split(",")] if a.only else VOCODERS
    for name, n_iter, mom in chosen:
        sc, lsd, ts = [], [], []
        for m in mels:
            t = time.process_time()
            y = mel_db_to_audio(m, feat, n_iter=n_iter, momentum=mom)
            ts.append(time.process_time() - t)
            m2 = mel_db(y, feat)[:, :m.shape[1]]
            if m2.shape[1] < m.shape[1]:
                m2 = np.pad(m2, ((0, 0), (0, m.shape[1] - m2.shape[1])), constant_values=floor)
            p, p2 = 10 ** (m / 10), 10 ** (m2 / 10)
            sc.append(np.linalg.norm(np.sqrt(p) - np.sqrt(p2)) / np.linalg.norm(np.sqrt(p)))
            live = m > floor + 1e-3
            lsd.append(float(np.sqrt(np.mean((m[live] - m2[live]) ** 2))))
        rows.append((name, float(np.mean(sc)), float(np.mean(lsd)), 1000 * float(np.median(ts))))
        print(f"{name:<26} {rows[-1][1]:14.3f} {rows[-1][2]:16.2f} {rows[-1][3]:9.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
