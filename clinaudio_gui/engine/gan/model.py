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

Stronger conditioning (issue 15), selected by the manifest's ``architecture``:

* ``CBNGenerator`` (``generator: "CBNGenerator"``): the same stages, but every batch norm is a
  *conditional* batch norm: BN without its own affine, followed by a class-dependent scale
  ``1 + gamma[y]`` and shift ``beta[y]`` (embeddings, initialised at 0 so training starts from the
  plain network), so the class acts in every block, not only at the input.
* ``Critic(ac=True)``: besides the projection term, an auxiliary classifier head on the pooled
  critic features (AC-GAN, Odena et al. 2017): cross-entropy on real patches trains it, and the
  generator is rewarded when its patches are classified as the intended class.
* ``diff_augment``: DiffAugment (Zhao et al. 2020) - the same random time translation and cutout,
  differentiable, applied to real and fake patches before the critic, for small classes.
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


def _input_stem(g: nn.Module, n_classes: int, z_dim: int, embed_dim: int, base_channels: int, n_mels: int,
                frames: int) -> None:
    """What both generators share before their blocks: the sizes, the class embedding and the
    linear layer from (z, embedding) to the first base_channels x n_mels/16 x frames/16 map."""
    if n_mels % 16 or frames % 16:
        raise ValueError(f"n_mels={n_mels} and frames={frames} must be multiples of 16")
    g.n_classes, g.z_dim, g.n_mels, g.frames = n_classes, z_dim, n_mels, frames
    g.h0, g.w0 = n_mels // 16, frames // 16
    g.embed = nn.Embedding(n_classes, embed_dim)
    g.fc = nn.Linear(z_dim + embed_dim, base_channels * g.h0 * g.w0)


class Generator(nn.Module):
    def __init__(self, n_classes: int, *, z_dim: int = 128, embed_dim: int = 32, base_channels: int = 256,
                 n_mels: int = 64, frames: int = 64, se: bool = True):
        super().__init__()
        _input_stem(self, n_classes, z_dim, embed_dim, base_channels, n_mels, frames)
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
    def __init__(self, n_classes: int, *, base_channels: int = 32, n_mels: int = 64, frames: int = 64,
                 ac: bool = False):
        super().__init__()
        chans = [1, base_channels, base_channels * 2, base_channels * 4, base_channels * 8]
        layers = []
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(a, b, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.linear = nn.Linear(chans[-1], 1)
        self.embed = nn.Embedding(n_classes, chans[-1])
        self.aux = nn.Linear(chans[-1], n_classes) if ac else None

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.score_and_logits(x, y)[0]

    def score_and_logits(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(Wasserstein score with the projection term, auxiliary class logits or None)."""
        h = self.features(x).sum(dim=(2, 3))
        score = self.linear(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)
        # the auxiliary head sees mean-pooled features (sum pooling would scale its logits by the area)
        return score, (self.aux(h / 16.0) if self.aux is not None else None)


class ConditionalBatchNorm2d(nn.Module):
    """BN (no own affine) then a class-dependent scale (1 + gamma[y]) and shift beta[y]."""

    def __init__(self, channels: int, n_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Embedding(n_classes, channels)
        self.beta = nn.Embedding(n_classes, channels)
        nn.init.zeros_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.bn(x) * (1.0 + self.gamma(y))[:, :, None, None] + self.beta(y)[:, :, None, None]


class CBNResidualBlock(nn.Module):
    """ReLU(x + SE(conv-CBN-ReLU-conv-CBN(x))) (no SE with se=False)."""

    def __init__(self, channels: int, n_classes: int, *, se: bool = True):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = ConditionalBatchNorm2d(channels, n_classes)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = ConditionalBatchNorm2d(channels, n_classes)
        self.se = SEBlock(channels) if se else None

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x), y))), y)
        if self.se is not None:
            h = self.se(h)
        return F.relu(x + h)


class CBNStage(nn.Module):
    """Nearest x2 upsampling, 3x3 conv, CBN, ReLU, then a conditional residual (SE) block."""

    def __init__(self, c_in: int, c_out: int, n_classes: int, *, se: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = ConditionalBatchNorm2d(c_out, n_classes)
        self.res = CBNResidualBlock(c_out, n_classes, se=se)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.res(F.relu(self.bn(self.conv(x), y)), y)


class CBNGenerator(nn.Module):
    """Generator with conditional batch norm in every block (and the class embedding at the input)."""

    def __init__(self, n_classes: int, *, z_dim: int = 128, embed_dim: int = 32, base_channels: int = 256,
                 n_mels: int = 64, frames: int = 64, se: bool = True):
        super().__init__()
        _input_stem(self, n_classes, z_dim, embed_dim, base_channels, n_mels, frames)
        self.bn0 = ConditionalBatchNorm2d(base_channels, n_classes)
        ch, stages = base_channels, []
        for _ in range(4):
            stages.append(CBNStage(ch, ch // 2, n_classes, se=se))
            ch //= 2
        self.stages = nn.ModuleList(stages)
        self.out = nn.Conv2d(ch, 1, 3, padding=1)
        self.base_channels = base_channels

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, self.embed(y)], dim=1))
        h = F.relu(self.bn0(h.view(z.shape[0], self.base_channels, self.h0, self.w0), y))
        for st in self.stages:
            h = st(h, y)
        return self.out(h)


GENERATORS = {"Generator": Generator, "CBNGenerator": CBNGenerator}


def cbn_state_from_plain(state: dict[str, torch.Tensor], n_classes: int) -> dict[str, torch.Tensor]:
    """A ``CBNGenerator`` state dict that computes exactly what a plain ``Generator`` state does:
    each BN's own affine (w, b) becomes the class tables gamma[y] = w - 1 and beta[y] = b for every
    class, so a trained plain generator is the starting point of conditional fine-tuning."""
    out: dict[str, torch.Tensor] = {}

    def bn(src: str, dst: str) -> None:
        for k in ("running_mean", "running_var", "num_batches_tracked"):
            out[f"{dst}.bn.{k}"] = state[f"{src}.{k}"].clone()
        w, b = state[f"{src}.weight"], state[f"{src}.bias"]
        out[f"{dst}.gamma.weight"] = (w - 1.0)[None].repeat(n_classes, 1).clone()
        out[f"{dst}.beta.weight"] = b[None].repeat(n_classes, 1).clone()

    for k in ("embed.weight", "fc.weight", "fc.bias", "out.weight", "out.bias"):
        out[k] = state[k].clone()
    bn("bn0", "bn0")
    for i in range(4):
        out[f"stages.{i}.conv.weight"] = state[f"stages.{i}.1.weight"].clone()
        bn(f"stages.{i}.2", f"stages.{i}.bn")
        out[f"stages.{i}.res.conv1.weight"] = state[f"stages.{i}.4.body.0.weight"].clone()
        bn(f"stages.{i}.4.body.1", f"stages.{i}.res.bn1")
        out[f"stages.{i}.res.conv2.weight"] = state[f"stages.{i}.4.body.3.weight"].clone()
        bn(f"stages.{i}.4.body.4", f"stages.{i}.res.bn2")
        for k, v in state.items():
            if k.startswith(f"stages.{i}.4.se."):
                out[k.replace(f"stages.{i}.4.se.", f"stages.{i}.res.se.")] = v.clone()
    return out


def build_generator(arch: dict, n_classes: int, *, n_mels: int, frames: int) -> nn.Module:
    """The generator a manifest's ``architecture`` describes (old packages: ``Generator``)."""
    name = arch.get("generator", "Generator")
    if name not in GENERATORS:
        raise ValueError(f"unknown generator architecture {name!r} (known: {', '.join(GENERATORS)}); "
                         f"this package needs a newer clinaudio")
    return GENERATORS[name](n_classes, z_dim=arch["z_dim"], embed_dim=arch["embed_dim"],
                            base_channels=arch["base_channels"], n_mels=n_mels, frames=frames, se=arch["se"])


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], gen: torch.Generator | None = None) -> torch.Tensor:
    """DiffAugment for (B, 1, mels, frames) patches: 'translation' shifts each patch in time by up
    to 1/8 of its width (zero = mean level after normalisation), 'cutout' zeroes a random
    1/4 x 1/4 rectangle. Differentiable in x; the randomness is per example."""
    b, _, h, w = x.shape
    dev = x.device
    if "translation" in policy:
        max_s = max(1, w // 8)
        shift = torch.randint(-max_s, max_s + 1, (b, 1, 1, 1), generator=gen).to(dev)
        idx = torch.arange(w, device=dev)[None, None, None, :] - shift
        valid = ((idx >= 0) & (idx < w)).to(x.dtype)
        x = torch.gather(x, 3, idx.clamp(0, w - 1).expand(b, 1, h, w)) * valid
    if "cutout" in policy:
        ch, cw = max(1, h // 4), max(1, w // 4)
        oy = torch.randint(0, h - ch + 1, (b, 1, 1, 1), generator=gen).to(dev)
        ox = torch.randint(0, w - cw + 1, (b, 1, 1, 1), generator=gen).to(dev)
        ry = torch.arange(h, device=dev)[None, None, :, None]
        rx = torch.arange(w, device=dev)[None, None, None, :]
        hole = ((ry >= oy) & (ry < oy + ch) & (rx >= ox) & (rx < ox + cw)).to(x.dtype)
        x = x * (1 - hole)
    return x


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates (Gulrajani et al. 2017)."""
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = critic(x_hat, y)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()
