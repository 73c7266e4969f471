"""Frechet distance between synthetic and real examples, per class, on a classifier's embeddings.

Like FID, but the embedding is a respiratory classifier's penultimate layer, not Inception. The
embedders live in :mod:`clinaudio_gui.engine.study.embedders` (the GAN does not import the
classifier; ``per_class_fd`` takes any :class:`Embedder`):

* ``embedder="classifier"``: the bundled event classifier
  (``Classifier.load(task="1-2").embed_and_label(y, sr)``) on audio. Generated mels reach it through
  Griffin-Lim; so that the inversion's artefacts do not dominate, the real patches go through the
  same mel -> Griffin-Lim path ("real through the vocoder").
* ``embedder="studycnn"`` (fallback when no classifier is bundled): the study's compact log-mel
  CNN, trained here on the real patches, embeds mels directly.

A real-vs-real reference (training patients vs held-out patients, same class) gives the floor
that sampling noise alone produces at these sample sizes.
"""
from __future__ import annotations

import warnings
from typing import Protocol

import numpy as np
from scipy import linalg

from clinaudio_gui.engine.gan.data import Example, crop


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(Ca + Cb - 2 (Ca Cb)^(1/2)) of two (n, d) embedding sets."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"need >= 2 embeddings per set, got {len(a)} and {len(b)}")
    mu1, mu2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        # with fewer examples than dimensions the covariances are singular (rare classes); sqrtm
        # still returns the right root of the PSD product, and non-finite results are handled below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(c1 @ c2)
    if not np.isfinite(covmean).all():
        eps = np.eye(c1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((c1 + eps) @ (c2 + eps))
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * np.trace(covmean))


class Embedder(Protocol):
    """What ``per_class_fd`` needs: (n, d) embeddings of log-mel patches, optionally with the
    embedder's predicted label per patch. The study package provides the classifier-based ones
    (``engine.study.embedders``); the GAN itself never imports a classifier."""

    name: str
    description: str

    def embed_mels(self, mels: np.ndarray, features: dict, *, with_labels: bool = False):
        ...


def real_patches(examples: list[Example], label: str, n: int, frames: int, *, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pool = [e for e in examples if e.label == label]
    if not pool:
        return np.zeros((0, 64, frames), np.float32)
    idx = rng.permutation(len(pool))[:n] if len(pool) >= n else rng.integers(0, len(pool), n)
    return np.stack([crop(pool[i].mel_db, frames, rng) for i in idx])


def per_class_fd(samplers: dict, train_examples: list[Example], heldout_examples: list[Example], features: dict,
                 embedder: Embedder, *, n_per_class: int = 100, seed: int = 0, log=None) -> dict:
    """{class: {"n_real_events": .., "fd": {name: value}, "fd_real_heldout": .., "agreement": {name: ..},
    "agreement_real": ..}} for each sampler.

    agreement: the share of a class's patches that the embedder's classifier assigns to that
    class (generated patches per sampler; real training patches, through the same path, as the
    reference). It shows whether the class condition is followed, which FD alone does not.
    """
    frames = features["frames"]
    classes = list(next(iter(samplers.values())).classes)
    out = {}
    for c in classes:
        n_real = sum(e.label == c for e in train_examples)
        n_take = min(n_per_class, max(n_real, 2))
        real = real_patches(train_examples, c, n_take, frames, seed=seed)
        if len(real) < 2:
            continue
        e_real, lab_real = embedder.embed_mels(real, features, with_labels=True)
        row = {"n_real_events": n_real, "n_real_patches": len(real), "n_synthetic": n_take, "fd": {},
               "agreement": {}, "agreement_real": float(np.mean([lab == c for lab in lab_real]))}
        for name, s in samplers.items():
            syn = s.sample(c, n_take, seed=seed + 17)
            e_syn, lab_syn = embedder.embed_mels(syn, features, with_labels=True)
            row["fd"][name] = frechet_distance(e_real, e_syn)
            row["agreement"][name] = float(np.mean([lab == c for lab in lab_syn]))
        held = real_patches(heldout_examples, c, n_take, frames, seed=seed + 1)
        n_held = sum(e.label == c for e in heldout_examples)
        if n_held >= 2:
            row["fd_real_heldout"] = frechet_distance(e_real, embedder.embed_mels(held, features))
            row["n_heldout_events"] = n_held
        out[c] = row
        if log:
            log(f"{c}: FD " + ", ".join(f"{k} {v:.2f}" for k, v in row["fd"].items())
                + "; agreement " + ", ".join(f"{k} {v:.2f}" for k, v in row["agreement"].items())
                + f", real {row['agreement_real']:.2f}"
                + (f", real held-out {row['fd_real_heldout']:.2f}" if "fd_real_heldout" in row else ""))
    return out
