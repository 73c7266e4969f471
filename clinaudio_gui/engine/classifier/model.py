"""Dual-branch Inception-residual network with attention over time (after Pham et al., BioCAS 2022).

One backbone per input image (gammatone, CWT). Each branch: conv stem -> Inception-residual
blocks (parallel 1x1 / 3x3 / 5x5 (as 3x3 dilated) / pool paths, concatenated, projected,
added to the input) -> frequency pooling -> multi-head self-attention over time -> mean+max
pooling over time -> embedding -> per-branch logits. The branch logits are fused by a
learnable linear combination ``sum_b softmax(alpha)_b * logits_b`` (weights sum to 1 and are
reported in the manifest).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
import torch.nn.functional as F

from clinaudio_gui.engine.common.blocks import ArchDict, InceptionResidual, conv_bn_relu as _cbr


@dataclass(frozen=True)
class ArchConfig(ArchDict):
    n_classes: int
    n_branches: int = 2
    n_bands: int = 64
    widths: tuple = (16, 32, 64)
    embed_dim: int = 64
    n_heads: int = 4
    dropout: float = 0.2


class Branch(nn.Module):
    def __init__(self, cfg: ArchConfig):
        super().__init__()
        w = cfg.widths
        layers = [_cbr(1, w[0], 3, stride=2)]
        cin = w[0]
        for i, c in enumerate(w):
            layers.append(InceptionResidual(cin, c))
            layers.append(nn.MaxPool2d(2))
            cin = c
        self.cnn = nn.Sequential(*layers)
        self.att = nn.MultiheadAttention(cin, cfg.n_heads, dropout=0.1, batch_first=True)
        self.norm = nn.LayerNorm(cin)
        self.emb = nn.Sequential(nn.Linear(2 * cin, cfg.embed_dim), nn.ReLU(inplace=True))
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.embed_dim, cfg.n_classes)

    def embed(self, x):                      # x: (B, 1, F, T)
        h = self.cnn(x).mean(dim=2)          # (B, C, T')
        h = h.transpose(1, 2)                # (B, T', C)
        a, _ = self.att(h, h, h, need_weights=False)
        h = self.norm(h + a)
        pooled = torch.cat([h.mean(dim=1), h.amax(dim=1)], dim=1)
        return self.emb(pooled)

    def forward(self, x):
        e = self.embed(x)
        return self.head(self.drop(e)), e


class DualBranchNet(nn.Module):
    def __init__(self, cfg: ArchConfig):
        super().__init__()
        self.cfg = cfg
        self.branches = nn.ModuleList([Branch(cfg) for _ in range(cfg.n_branches)])
        self.fusion_logits = nn.Parameter(torch.zeros(cfg.n_branches))

    def fusion_weights(self) -> torch.Tensor:
        return torch.softmax(self.fusion_logits, dim=0)

    def forward(self, x):
        """x: (B, n_branches, F, T) -> (fused logits (B, K), branch logits (n_branches, B, K), embedding)."""
        outs = [br(x[:, i:i + 1]) for i, br in enumerate(self.branches)]
        branch_logits = torch.stack([o[0] for o in outs])
        w = self.fusion_weights()
        fused = (w[:, None, None] * branch_logits).sum(dim=0)
        emb = torch.cat([o[1] for o in outs], dim=1)
        return fused, branch_logits, emb


def multi_objective_loss(fused, branch_logits, target, *, class_weights=None, aux_weight: float = 0.3):
    """CE on the fused logits + aux_weight * mean per-branch CE (keeps every branch discriminative
    on its own, so the fusion is a real choice between two working experts and neither branch
    free-rides on the other)."""
    main = F.cross_entropy(fused, target, weight=class_weights, label_smoothing=0.05)
    aux = torch.stack([F.cross_entropy(b, target, weight=class_weights) for b in branch_logits]).mean()
    return main + aux_weight * aux, main.detach(), aux.detach()
