"""Convolution building blocks shared by the classifier and the detector (torch)."""
from __future__ import annotations

from dataclasses import asdict

import torch
import torch.nn.functional as F
from torch import nn


class ArchDict:
    """to_dict / from_dict for a frozen architecture dataclass with a ``widths`` tuple (JSON has
    lists; unknown keys in an older or newer manifest are ignored)."""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_dict(cls, d: dict):
        d = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        if "widths" in d:
            d["widths"] = tuple(d["widths"])
        return cls(**d)


def conv_bn_relu(cin, cout, k=3, stride=1, dilation=1):
    pad = dilation * (k // 2)
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class MaxPool3x3(nn.Module):
    """nn.MaxPool2d(3, stride=1, padding=1) as two separable maxima of shifted views: the same
    numbers, about 20x faster on CPU (it was the single largest cost of the detector's 10 s
    detection); no parameters, so packages are unchanged."""

    def forward(self, x):
        p = F.pad(x, (1, 1, 1, 1), value=float("-inf"))
        r = torch.maximum(torch.maximum(p[..., :-2, :], p[..., 1:-1, :]), p[..., 2:, :])
        return torch.maximum(torch.maximum(r[..., :-2], r[..., 1:-1]), r[..., 2:])


class InceptionResidual(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        c = max(4, cout // 4)
        self.b1 = conv_bn_relu(cin, c, 1)
        self.b3 = nn.Sequential(conv_bn_relu(cin, c, 1), conv_bn_relu(c, c, 3))
        self.b5 = nn.Sequential(conv_bn_relu(cin, c, 1), conv_bn_relu(c, c, 3, dilation=2))
        self.bp = nn.Sequential(MaxPool3x3(), conv_bn_relu(cin, c, 1))
        self.proj = nn.Sequential(nn.Conv2d(4 * c, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = nn.Identity() if cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False),
                                                                    nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)
        return F.relu(self.proj(y) + self.skip(x))
