"""Containers: ``Compose`` (each child applied with its own probability ``p``) and ``OneOf``.

Their params mirror their structure, so a whole pipeline draw is one JSON-able dict:
``{"applied": bool, "children": [{"applied": bool, "params": {...}}, ...]}`` for Compose and
``{"applied": bool, "choice": i, "params": {...}}`` for OneOf. Every child's params are drawn
even when the child is skipped, so changing one child's ``p`` does not change what the
others draw from the same seed.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from clinaudio_gui.augment.base import DOMAINS, Transform, register, transform_from_dict
from clinaudio_gui.core.segment import Segment


class _Container(Transform):
    PARAMS = ()

    def __init__(self, transforms: Sequence[Transform], *, p: float = 1.0):
        super().__init__(p=p)
        transforms = list(transforms)
        for t in transforms:
            if not isinstance(t, Transform):
                raise ValueError(f"{type(self).__name__}: {t!r} is not a transform")
        domains = {t.domain for t in transforms}
        if len(domains) > 1:
            raise ValueError(f"{type(self).__name__}: cannot mix audio and spectrogram transforms "
                             f"({', '.join(t.name for t in transforms)})")
        self.transforms = transforms
        self.domain = domains.pop() if domains else DOMAINS[0]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "p": self.p, "transforms": [t.to_dict() for t in self.transforms]}

    @classmethod
    def _children_from(cls, d: dict) -> list[Transform]:
        kids = d.get("transforms")
        if not isinstance(kids, list):
            raise ValueError(f"{cls.name}: 'transforms' must be a list, got {kids!r}")
        return [transform_from_dict(k) for k in kids]

    def __repr__(self) -> str:
        return f"{type(self).__name__}([{', '.join(map(repr, self.transforms))}], p={self.p})"


@register
class Compose(_Container):
    name = "Compose"
    summary = "apply transforms in order, each with its own probability p"

    @classmethod
    def from_settings(cls, d: dict) -> "Compose":
        return cls(cls._children_from(d), p=d.get("p", 1.0))

    def _randomize(self, rng, context):
        applied = bool(rng.random() < self.p)
        children = []
        for t in self.transforms:
            # a nested container draws its own p inside (its "applied"), so it is not drawn twice
            on = True if isinstance(t, _Container) else bool(rng.random() < t.p)
            children.append({"name": t.name, "applied": on, "params": t.randomize(rng, context)})
        return {"applied": applied, "children": children}

    def _check(self, params):
        kids = params.get("children")
        if not isinstance(kids, list) or len(kids) != len(self.transforms):
            raise ValueError(f"Compose: params for {len(self.transforms)} transforms expected, got {kids!r}")
        return kids

    def apply(self, x, sample_rate_hz, params):
        if not params.get("applied", True):
            return np.array(x, dtype=np.float32, copy=True)
        y = x
        for t, c in zip(self.transforms, self._check(params)):
            if c["applied"]:
                y = t.apply(y, sample_rate_hz, c["params"])
        return np.array(y, dtype=np.float32, copy=y is x)

    def apply_with_segments(self, x, sample_rate_hz, params, segments):
        segs = list(segments)
        if not params.get("applied", True):
            return np.array(x, dtype=np.float32, copy=True), clip_segments(segs, len(x) / sample_rate_hz)
        y = x
        for t, c in zip(self.transforms, self._check(params)):
            if c["applied"]:
                y, segs = t.apply_with_segments(y, sample_rate_hz, c["params"], segs)
        return np.array(y, dtype=np.float32, copy=y is x), clip_segments(segs, len(y) / sample_rate_hz)


def clip_segments(segments, duration_s: float) -> list:
    """Segments cut to [0, duration_s]; those wholly outside the audio are dropped (a label that
    ran past the end of its clip, whether or not any transform moved it, never points past it)."""
    out = []
    for sg in segments:
        a, b = max(0.0, sg.start_s), min(duration_s, sg.end_s)
        if b > a or (b == a and sg.start_s == sg.end_s and 0.0 <= a <= duration_s):
            out.append(sg if (a, b) == (sg.start_s, sg.end_s) else sg.replace(start_s=a, end_s=b))
    return out


@register
class OneOf(_Container):
    """Apply exactly one child: drawn with ``weights``, or, with ``cycle=True``, child number
    ``context['index'] % n`` (so ``--per-file N`` gives one copy per technique, as in the
    augmentation studies that make one augmented copy per transform)."""

    name = "OneOf"
    summary = "apply one of the transforms (random, or cycling by copy index)"

    def __init__(self, transforms: Sequence[Transform], *, weights: Sequence[float] | None = None,
                 cycle: bool = False, p: float = 1.0):
        super().__init__(transforms, p=p)
        if not self.transforms:
            raise ValueError("OneOf: needs at least one transform (got none)")
        if not isinstance(cycle, bool):
            raise ValueError(f"OneOf: cycle={cycle!r} must be true or false")
        self.cycle = cycle
        if weights is not None:
            w = [float(v) for v in weights]
            if len(w) != len(self.transforms) or any(not np.isfinite(v) or v < 0 for v in w) or sum(w) <= 0:
                raise ValueError(f"OneOf: weights={list(weights)!r} must be {len(self.transforms)} "
                                 f"non-negative numbers with a positive sum")
            self.weights = w
        else:
            self.weights = None

    @classmethod
    def from_settings(cls, d: dict) -> "OneOf":
        return cls(cls._children_from(d), weights=d.get("weights"), cycle=d.get("cycle", False),
                   p=d.get("p", 1.0))

    def to_dict(self):
        d = super().to_dict()
        d["weights"] = self.weights
        d["cycle"] = self.cycle
        return d

    def _randomize(self, rng, context):
        applied = bool(rng.random() < self.p)
        n = len(self.transforms)
        if self.cycle:
            i = int(context.get("index", 0)) % n
        elif self.weights is None:
            i = int(rng.integers(n))
        else:
            w = np.asarray(self.weights) / sum(self.weights)
            i = int(rng.choice(n, p=w))
        t = self.transforms[i]
        return {"applied": applied, "choice": i, "name": t.name, "params": t.randomize(rng, context)}

    def apply(self, x, sample_rate_hz, params):
        if not params.get("applied", True):
            return np.array(x, dtype=np.float32, copy=True)
        return self.transforms[int(params["choice"])].apply(x, sample_rate_hz, params["params"])

    def apply_with_segments(self, x, sample_rate_hz, params, segments):
        if not params.get("applied", True):
            return np.array(x, dtype=np.float32, copy=True), list(segments)
        return self.transforms[int(params["choice"])].apply_with_segments(x, sample_rate_hz, params["params"],
                                                                          segments)


def applied_names(t: Transform, params: dict) -> list[str]:
    """Names of the leaf transforms a draw actually applies (for file names, manifests, UI)."""
    if not params.get("applied", True):
        return []
    if isinstance(t, Compose):
        out = []
        for child, c in zip(t.transforms, params["children"]):
            if c["applied"]:
                out += applied_names(child, c["params"]) if isinstance(child, _Container) else [child.name]
        return out
    if isinstance(t, OneOf):
        child = t.transforms[int(params["choice"])]
        return applied_names(child, params["params"]) if isinstance(child, _Container) else [child.name]
    return [t.name]


_ = Segment
