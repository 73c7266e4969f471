"""Class-conditional WGAN-GP on log-mel patches, with residual Squeeze-and-Excitation generator.

After Margaryan, Seibold et al., "Improved Techniques for the Conditional Generative
Augmentation of Clinical Audio Data" (residual SE modules in the generator) and its predecessor
(MICCAI 2022: conditional WGAN-GP on 64 x 64 log-mel patches).

* Generator: [z (128) ; class embedding (32)] -> linear -> 256 x 4 x 4, then four stages, each
  nearest x2 upsampling + 3x3 conv + BN + ReLU followed by one residual block
  ``x + SE(conv-BN-ReLU-conv-BN(x))``; SE = global average pool (squeeze) -> MLP C -> C/4 -> C with a
  sigmoid gate (excitation) that rescales the channels. ``se=False`` (``--no-se``) keeps the
  residual conv blocks but drops the SE gate, so the ablation isolates the SE modules.
* Critic: four stride-2 4x4 convs with LeakyReLU (no batch norm: the gradient penalty is per
  example), global sum pooling, and a projection term ``<embed(y), h>`` for the class.
* Loss: Wasserstein + gradient penalty 10, 5 critic steps per generator step, Adam 1e-4,
  betas (0.5, 0.9), as in the predecessor.

Images are normalized per mel band with the training set's mean and std (stored in the manifest).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

KIND = "gan-generator"
CHECKPOINT_KIND = "gan-checkpoint"


class SEBlock(nn.Module):
    """Squeeze (global average pool) and excitation (MLP + sigmoid): a per-channel gate in (0, 1)."""

    def __init__(self, channels: int, *, reduction: int = 4):
        super().__init__()
        hidden = max(4, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3))
        return torch.sigmoid(self.fc2(F.relu(self.fc1(s))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)[:, :, None, None]


class ResidualBlock(nn.Module):
    """x + SE(body(x)) (or x + body(x) without SE), then ReLU."""

    def __init__(self, channels: int, *, se: bool = True):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        self.se = SEBlock(channels) if se else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        if self.se is not None:
            h = self.se(h)
        return F.relu(x + h)


class Generator(nn.Module):
    def __init__(self, n_classes: int, *, z_dim: int = 128, embed_dim: int = 32, base_channels: int = 256,
                 n_mels: int = 64, frames: int = 64, se: bool = True):
        super().__init__()
        if n_mels % 16 or frames % 16:
            raise ValueError(f"n_mels={n_mels} and frames={frames} must be multiples of 16")
        self.n_classes, self.z_dim, self.n_mels, self.frames = n_classes, z_dim, n_mels, frames
        self.h0, self.w0 = n_mels // 16, frames // 16
        self.embed = nn.Embedding(n_classes, embed_dim)
        self.fc = nn.Linear(z_dim + embed_dim, base_channels * self.h0 * self.w0)
        self.bn0 = nn.BatchNorm2d(base_channels)
        stages = []
        ch = base_channels
        for _ in range(4):
            out = ch // 2
            stages.append(nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(ch, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(),
                ResidualBlock(out, se=se)))
            ch = out
        self.stages = nn.Sequential(*stages)
        self.out = nn.Conv2d(ch, 1, 3, padding=1)
        self.base_channels = base_channels

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, self.embed(y)], dim=1))
        h = F.relu(self.bn0(h.view(z.shape[0], self.base_channels, self.h0, self.w0)))
        return self.out(self.stages(h))  # (B, 1, n_mels, frames), normalized units


class Critic(nn.Module):
    def __init__(self, n_classes: int, *, base_channels: int = 32, n_mels: int = 64, frames: int = 64):
        super().__init__()
        chans = [1, base_channels, base_channels * 2, base_channels * 4, base_channels * 8]
        layers = []
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(a, b, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.linear = nn.Linear(chans[-1], 1)
        self.embed = nn.Embedding(n_classes, chans[-1])

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.features(x).sum(dim=(2, 3))
        return self.linear(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates (Gulrajani et al. 2017)."""
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = critic(x_hat, y)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()
