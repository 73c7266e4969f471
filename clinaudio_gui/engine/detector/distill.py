"""Distilling several detector networks into one (knowledge distillation, Hinton et al. 2015).

The teachers' frame probabilities (each network's softmax at its own frame temperature, averaged
over the teachers) are computed once on the whole training recordings; a training crop's soft
targets are the same frames of its recording. ``distillation_loss`` gives ``train_network`` an
``extra_loss``: the class-weighted KL divergence from those soft targets to the student's frame
distribution, so the student keeps the product's loss and is pulled towards the ensemble's view of
every frame (which sounds the ensemble hears, and how sure it is), within one network's budget.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.train import _weights_from_counts, predict


def teacher_probs(teachers, recs, idx) -> dict[int, np.ndarray]:
    """``teachers``: (network, frame temperature) pairs. Per recording ``i`` of ``idx``: the mean over
    the teachers of softmax(frame logits / temperature), (frames, classes) float32, one row per frame
    of the recording's target."""
    if not teachers:
        raise ValueError("distillation needs at least one teacher")
    acc: dict[int, np.ndarray] = {}
    for net, t in teachers:
        for (fl, _), i in zip(predict(net, recs, idx), idx):
            p = S.softmax(fl / float(t)).astype(np.float32)
            if p.shape[0] != len(recs[i].target):
                raise ValueError(f"{recs[i].audio}: the teacher gives {p.shape[0]} frames, "
                                 f"the target has {len(recs[i].target)}")
            acc[int(i)] = p if int(i) not in acc else acc[int(i)] + p
    return {i: p / len(teachers) for i, p in acc.items()}


def class_weights(recs, idx, n_classes: int) -> torch.Tensor:
    """The frame class weights ``train_network`` gives the hard loss on these recordings."""
    counts = np.bincount(np.concatenate([recs[i].target for i in idx]), minlength=n_classes)
    return _weights_from_counts(counts)


def soft_targets(probs: dict[int, np.ndarray], bidx, offsets, length: int) -> torch.Tensor:
    """(B, length, classes) teacher probabilities of a batch's crops (crop b of recording ``bidx[b]``
    starts at frame ``offsets[b]``); frames past a recording's end are zero (the mask drops them)."""
    k = next(iter(probs.values())).shape[1]
    out = np.zeros((len(bidx), length, k), np.float32)
    for b, (i, a) in enumerate(zip(bidx, offsets)):
        p = probs[int(i)][a:a + length]
        out[b, :len(p)] = p
    return torch.from_numpy(out)


def distillation_loss(probs: dict[int, np.ndarray], weight: float, frame_weights: torch.Tensor):
    """``train_network``'s ``extra_loss``: ``weight`` x the KL divergence from the teachers' frame
    distribution to the student's, averaged over the unmasked frames with the hard loss's class
    weights (of each frame's expert class), so that rare-class frames count as they do there."""
    def loss(frame_logits, bidx, offsets, mask, target):
        q = soft_targets(probs, bidx, offsets, frame_logits.shape[1]).to(frame_logits.device)
        logp = F.log_softmax(frame_logits, dim=-1)
        kl = (q * (torch.log(q.clamp_min(1e-8)) - logp)).sum(-1)        # (B, T)
        w = frame_weights.to(frame_logits.device)[target] * mask
        return weight * (kl * w).sum() / w.sum().clamp_min(1e-8)
    return loss
