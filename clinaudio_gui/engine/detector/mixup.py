"""Mixup for detector training batches (Zhang et al. 2018, "mixup: beyond empirical risk
minimization"; as in the DCASE sound-event detection baselines): a batch's feature images are
mixed with a shuffled copy of the same batch, x = lam * x + (1 - lam) * x[perm], lam ~ Beta(a, a),
and the loss is the same mixture of the loss on either crop's frame and record targets.

The features are the per-block standardised gammatone / CWT images, so the mixture is taken in
that (log-like) domain, as mixup on log-mel spectrograms is. The loss function is the product's
own (``model.detector_loss``: class-weighted frame cross-entropy, branch auxiliaries, record
cross-entropy); only the frames both crops cover count.
"""
from __future__ import annotations

import numpy as np
import torch

ALPHA = 0.4   # Beta(0.4, 0.4): most mixtures lean to one of the two crops


def mix_batch(x: torch.Tensor, rng: np.random.Generator, prob: float,
              alpha: float = ALPHA) -> tuple[torch.Tensor, tuple[torch.Tensor, float] | None]:
    """With probability ``prob`` (one draw per batch): the mixed batch and ``(perm, lam)``;
    otherwise ``x`` unchanged and ``None``. ``prob`` 0 draws nothing from ``rng`` (training
    without mixup is unchanged)."""
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"mixup probability must be within 0 ... 1, not {prob}")
    if prob <= 0 or x.shape[0] < 2 or rng.random() >= prob:
        return x, None
    lam = float(rng.beta(alpha, alpha))
    perm = torch.from_numpy(rng.permutation(x.shape[0]))
    return lam * x + (1.0 - lam) * x[perm], (perm, lam)


def mixed_loss(loss_fn, mix, frame, record, aux, frame_target, record_target, mask, **kw):
    """``loss_fn``'s (total, parts) for a batch mixed by ``mix_batch`` (``mix`` None: the plain loss):
    lam x the loss on the first crops' targets + (1 - lam) x the loss on their partners'."""
    if mix is None:
        return loss_fn(frame, record, aux, frame_target, record_target, mask, **kw)
    perm, lam = mix
    perm = perm.to(frame_target.device)
    both = mask & mask[perm]
    fw = kw.pop("frame_loss_weights", None)
    la, pa = loss_fn(frame, record, aux, frame_target, record_target, both, frame_loss_weights=fw, **kw)
    lb, pb = loss_fn(frame, record, aux, frame_target[perm], record_target[perm], both,
                     frame_loss_weights=None if fw is None else fw[perm], **kw)
    parts = {k: lam * pa[k] + (1.0 - lam) * pb[k] for k in pa}
    return lam * la + (1.0 - lam) * lb, parts
