"""Keeping only the generated patches a real-data classifier recognises, and memorisation checks.

* :func:`filtered_samples`: draw patches of a class until ``n`` of them are assigned to that class
  with probability >= ``threshold`` by a classifier trained on real data only (any callable
  ``mels (n, n_mels, frames) dB -> probabilities (n, n_classes)`` in the generator's class order;
  the study passes the compact CNN trained on the real training fold). The GAN package never
  imports a classifier.
* :func:`nearest_neighbour_distances`: for each query patch the smallest distance to any crop of
  the training patches (per-band standardised mel, RMS per pixel, every ``stride`` frames), so
  that generated patches copying training data would show as distances below those of real
  held-out patches.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from clinaudio_gui.engine.gan.data import Example

Classify = Callable[[np.ndarray], np.ndarray]


def filtered_samples(sampler, label: str, n: int, classify: Classify, *, threshold: float, seed: int = 0,
                     truncation: float | None = None, batch: int | None = None, max_draws: int | None = None
                     ) -> tuple[np.ndarray, dict]:
    """(up to n kept patches in dB, stats). Batches of fresh seeds (seed, seed + 1, ...) are drawn
    until n patches pass or max_draws (default 20 n) patches were drawn; stats say how many were
    drawn and kept (the acceptance rate is itself a quality figure of the class)."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold={threshold} must be in [0, 1]")
    k = sampler.class_index(label)
    batch = batch or max(8, n)
    max_draws = max_draws or 20 * n
    kept: list[np.ndarray] = []
    drawn, s = 0, int(seed)
    probs_kept: list[float] = []
    while len(kept) < n and drawn < max_draws:
        m = min(batch, max_draws - drawn)
        imgs = sampler.sample(label, m, seed=s, truncation=truncation)
        p = np.asarray(classify(imgs), np.float64)
        if p.shape != (m, len(sampler.classes)):
            raise ValueError(f"classifier returned shape {p.shape}, expected {(m, len(sampler.classes))}")
        ok = p[:, k] >= threshold
        kept.extend(imgs[ok])
        probs_kept.extend(p[ok, k].tolist())
        drawn += m
        s += 1
    kept = kept[:n]
    stats = {"label": label, "threshold": threshold, "drawn": drawn, "kept": len(kept),
             "acceptance": (sum(1 for _ in probs_kept) / drawn) if drawn else 0.0}
    out = np.stack(kept) if kept else np.zeros((0, sampler.features["n_mels"], sampler.features["frames"]),
                                               np.float32)
    return out, stats


def _crops(examples: list[Example], frames: int, stride: int, max_crops: int, rng) -> np.ndarray:
    out = []
    for e in examples:
        t = e.mel_db.shape[1]
        offs = range(0, max(1, t - frames + 1), stride) if t > frames else [0]
        for o in offs:
            c = e.mel_db[:, o:o + frames]
            if c.shape[1] < frames:
                c = np.pad(c, ((0, 0), (0, frames - c.shape[1])), mode="edge")
            out.append(c)
    arr = np.stack(out).astype(np.float32)
    if len(arr) > max_crops:
        arr = arr[rng.permutation(len(arr))[:max_crops]]
    return arr


def nearest_neighbour_distances(queries: np.ndarray, train_examples: list[Example], mean: np.ndarray,
                                std: np.ndarray, *, stride: int = 8, max_crops: int = 20000,
                                seed: int = 0) -> np.ndarray:
    """For each (n_mels, frames) dB query: min over training crops of the RMS difference of the
    per-band standardised patches (0 = an exact copy of a training crop)."""
    if len(queries) == 0 or not train_examples:
        return np.zeros(0)
    frames = queries.shape[2]
    rng = np.random.default_rng(seed)
    ref = _crops(train_examples, frames, stride, max_crops, rng)
    m, s = mean[None, :, None], std[None, :, None]
    r = ((ref - m) / s).reshape(len(ref), -1).astype(np.float32)
    q = ((np.asarray(queries, np.float32) - m) / s).reshape(len(queries), -1).astype(np.float32)
    r2 = (r * r).sum(1)
    best = np.full(len(q), np.inf)
    for i in range(0, len(r), 4096):
        rb, r2b = r[i:i + 4096], r2[i:i + 4096]
        d2 = (q * q).sum(1)[:, None] + r2b[None, :] - 2.0 * q @ rb.T
        best = np.minimum(best, d2.min(1))
    return np.sqrt(np.maximum(best, 0.0) / q.shape[1])


def nn_report(samplers: dict, train_examples: list[Example], heldout_examples: list[Example], *,
              n_per_class: int = 50, seed: int = 0, truncation: float | None = None, log=None) -> dict:
    """{class: {"real_heldout": {median, p05, n}, name: {median, p05, n}}}: nearest-neighbour distance
    to the class's training patches, of real held-out patches (the reference) and of each
    generator's samples (same seeds as the Frechet distance). Generated distances well below
    the held-out ones would mean copies of training data."""
    from clinaudio_gui.engine.gan.quality import real_patches
    first = next(iter(samplers.values()))
    mean, std, frames = first.mean, first.std, first.features["frames"]

    def summ(d):
        return {"median": float(np.median(d)), "p05": float(np.percentile(d, 5)), "min": float(d.min()),
                "n": int(len(d))}

    out = {}
    for c in first.classes:
        tr = [e for e in train_examples if e.label == c]
        if len(tr) < 2:
            continue
        n_take = min(n_per_class, max(len(tr), 2))
        row = {}
        held = real_patches(heldout_examples, c, n_take, frames, seed=seed + 1) if any(
            e.label == c for e in heldout_examples) else np.zeros((0,))
        if len(held):
            row["real_heldout"] = summ(nearest_neighbour_distances(held, tr, mean, std, seed=seed))
        for name, s in samplers.items():
            syn = s.sample(c, n_take, seed=seed + 17, truncation=truncation)
            row[name] = summ(nearest_neighbour_distances(syn, tr, mean, std, seed=seed))
        out[c] = row
        if log:
            log(f"{c}: NN distance to training (median) " + ", ".join(f"{k} {v['median']:.3f}" for k, v in row.items()))
    return out
