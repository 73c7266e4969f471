"""Transform base class, parameter specs and the registry.

Design (audiomentations' idea, with its gaps fixed):

* ``randomize(rng, context=None) -> params`` draws every random choice from the one
  ``numpy.random.Generator`` it is given and records it in a plain dict;
* ``apply(x, sample_rate_hz, params) -> x`` is a pure function of its arguments (no
  randomness inside: where noise is needed, its seed is one of the params), so applying
  frozen params again is bit-identical;
* the constructor validates every setting and raises ``ValueError`` repeating the bad value;
* every setting carries its unit in its name (``_s``, ``_hz``, ``_db``, ``_semitones``...);
* ``to_dict()`` / ``from_dict()`` give JSON, and instances pickle (plain attributes only).

Labels travel: ``apply_with_segments`` returns the transformed samples and the segments
moved, scaled or cut the same way (see :meth:`Transform.map_segments`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Sequence

import numpy as np

from clinaudio_gui.core.segment import Segment

AUDIO = "audio"
SPECTROGRAM = "spectrogram"
DOMAINS = (AUDIO, SPECTROGRAM)

#: segments shorter than this after a cut are dropped (a 1-sample sliver is not an event)
MIN_SEGMENT_S = 0.010


@dataclass(frozen=True)
class Param:
    """One constructor setting: name (with unit), unit, default, choices, one-line help."""

    name: str
    unit: str
    default: Any
    help: str
    kind: str = "float"            # "float" | "int" | "choice" | "bool" | "list" | "paths"
    choices: tuple = ()
    low: float | None = None       # inclusive bounds for numbers (validated)
    high: float | None = None

    def to_dict(self) -> dict:
        d = {"name": self.name, "unit": self.unit, "default": self.default, "kind": self.kind,
             "help": self.help}
        if self.choices:
            d["choices"] = list(self.choices)
        if self.low is not None:
            d["low"] = self.low
        if self.high is not None:
            d["high"] = self.high
        return d


REGISTRY: dict[str, type["Transform"]] = {}


def register(cls: type["Transform"]) -> type["Transform"]:
    if cls.name in REGISTRY:
        raise ValueError(f"transform name {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls


def _check_number(cls_name: str, p: Param, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValueError(f"{cls_name}: {p.name}={v!r} must be a number ({p.unit})")
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{cls_name}: {p.name}={v!r} must be finite")
    if p.low is not None and v < p.low:
        raise ValueError(f"{cls_name}: {p.name}={v!r} must be >= {p.low} ({p.unit})")
    if p.high is not None and v > p.high:
        raise ValueError(f"{cls_name}: {p.name}={v!r} must be <= {p.high} ({p.unit})")
    return v


def uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Uniform draw in [lo, hi]; lo itself, with nothing drawn from rng, when lo == hi."""
    return float(lo) if lo == hi else float(rng.uniform(lo, hi))


class Transform:
    """Base of every transform. Subclasses declare ``name``, ``domain``, ``PARAMS`` and
    implement ``_randomize`` and ``apply`` (and ``map_segments`` when they move time)."""

    name: ClassVar[str] = ""
    domain: ClassVar[str] = AUDIO
    summary: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[Param, ...]] = ()
    #: the param drawn by randomize that a GUI slider moves (None: nothing to slide)
    slider_param: ClassVar[str | None] = None
    #: names X of paired settings ``min_X`` / ``max_X``: each pair is checked (min <= max) on
    #: construction, before ``_validate``, and ``_draw(rng, X)`` draws uniformly between them
    RANGES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, p: float = 1.0, **settings: Any):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"{type(self).__name__}: p={p!r} must be a probability in [0, 1]")
        self.p = float(p)
        known = {q.name: q for q in self.PARAMS}
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown setting(s) {unknown}; "
                             f"known: {sorted(known)}")
        for q in self.PARAMS:
            v = settings.get(q.name, q.default)
            setattr(self, q.name, self._coerce(q, v))
        for r in self.RANGES:
            self._check_range(f"min_{r}", f"max_{r}")
        self._validate()

    # ---- settings ----------------------------------------------------------
    def _coerce(self, q: Param, v: Any) -> Any:
        cname = type(self).__name__
        if q.kind == "float":
            return _check_number(cname, q, v)
        if q.kind == "int":
            f = _check_number(cname, q, v)
            if f != int(f):
                raise ValueError(f"{cname}: {q.name}={v!r} must be an integer")
            return int(f)
        if q.kind == "choice":
            if v not in q.choices:
                raise ValueError(f"{cname}: {q.name}={v!r} must be one of {list(q.choices)}")
            return v
        if q.kind == "bool":
            if not isinstance(v, bool):
                raise ValueError(f"{cname}: {q.name}={v!r} must be true or false")
            return v
        if q.kind == "list":
            if v is None:
                return None
            if isinstance(v, (str, bytes)) or not isinstance(v, Iterable):
                raise ValueError(f"{cname}: {q.name}={v!r} must be a list of numbers ({q.unit})")
            out = [_check_number(cname, q, x) for x in v]
            if not out:
                raise ValueError(f"{cname}: {q.name}={v!r} must not be empty")
            return out
        if q.kind == "paths":
            if v is None:
                return []
            if isinstance(v, (str, bytes)) or not isinstance(v, Iterable):
                raise ValueError(f"{cname}: {q.name}={v!r} must be a list of file paths")
            return [str(x) for x in v]
        raise AssertionError(q.kind)

    def _validate(self) -> None:
        """Cross-setting checks (min <= max ...). Raise ValueError repeating the values."""

    def _draw(self, rng: np.random.Generator, name: str) -> float:
        """Uniform draw in [min_<name>, max_<name>] (no draw when they are equal)."""
        return uniform(rng, getattr(self, f"min_{name}"), getattr(self, f"max_{name}"))

    def _check_range(self, lo_name: str, hi_name: str) -> None:
        lo, hi = getattr(self, lo_name), getattr(self, hi_name)
        if lo > hi:
            raise ValueError(f"{type(self).__name__}: {lo_name}={lo!r} must be <= {hi_name}={hi!r}")

    def settings(self) -> dict[str, Any]:
        return {q.name: getattr(self, q.name) for q in self.PARAMS}

    # ---- randomness ------------------------------------------------------------
    def randomize(self, rng: np.random.Generator, context: dict | None = None) -> dict[str, Any]:
        """Draw this transform's random choices from ``rng`` and return them (JSON-able)."""
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng={rng!r} must be a numpy.random.Generator (seed it explicitly)")
        return self._randomize(rng, context or {})

    def _randomize(self, rng: np.random.Generator, context: dict) -> dict[str, Any]:
        return {}

    # ---- application -------------------------------------------------------------
    def apply(self, x: np.ndarray, sample_rate_hz: int, params: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray, sample_rate_hz: int, *, rng: np.random.Generator,
                 context: dict | None = None) -> np.ndarray:
        """Draw and apply in one call (convenience; ignores ``p``: use Compose for that)."""
        return self.apply(x, sample_rate_hz, self.randomize(rng, context))

    def map_segments(self, segments: Sequence[Segment], params: dict[str, Any], *,
                     in_duration_s: float, out_duration_s: float) -> list[Segment]:
        """Where the labeled spans are after this transform. Default: unchanged times."""
        return list(segments)

    def apply_with_segments(self, x: np.ndarray, sample_rate_hz: int, params: dict[str, Any],
                            segments: Sequence[Segment]) -> tuple[np.ndarray, list[Segment]]:
        y = self.apply(x, sample_rate_hz, params)
        if self.domain != AUDIO:
            return y, list(segments)
        segs = self.map_segments(segments, params, in_duration_s=len(x) / sample_rate_hz,
                                 out_duration_s=len(y) / sample_rate_hz)
        return y, segs

    # ---- serialization -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "p": self.p}
        d.update({k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in self.settings().items()})
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Transform":
        return transform_from_dict(d)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}(p={self.p}, {args})" if args else f"{type(self).__name__}(p={self.p})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()  # type: ignore[union-attr]

    __hash__ = None  # type: ignore[assignment]


def transform_from_dict(d: dict[str, Any]) -> Transform:
    """Any transform or container from its ``to_dict`` form (the recipe format)."""
    if not isinstance(d, dict) or "name" not in d:
        raise ValueError(f"a transform must be an object with a 'name', got {d!r}")
    name = d["name"]
    cls = REGISTRY.get(name)
    if cls is None:
        raise ValueError(f"unknown transform name {name!r}; known: {sorted(REGISTRY)}")
    kw = {k: v for k, v in d.items() if k != "name"}
    return cls.from_settings(kw) if hasattr(cls, "from_settings") else cls(**kw)


# ---- segment helpers -------------------------------------------------------------------
def clip_segments(segments: Iterable[Segment], *, duration_s: float) -> list[Segment]:
    """Clip to [0, duration_s]; drop what leaves the clip (or keeps less than MIN_SEGMENT_S)."""
    return map_segment_times(segments, duration_s=duration_s)


def map_segment_times(segments: Iterable[Segment], *, scale: float = 1.0, offset_s: float = 0.0,
                      duration_s: float, freq_scale: float | None = None) -> list[Segment]:
    """t -> t * scale + offset_s for both edges, then clip to the clip's length."""
    moved = []
    for s in segments:
        a = s.start_s * scale + offset_s
        b = s.end_s * scale + offset_s
        kw: dict[str, Any] = {}
        if freq_scale is not None and s.is_box:
            kw = {"low_hz": float(s.low_hz * freq_scale), "high_hz": float(s.high_hz * freq_scale)}
        if b < 0 or a > duration_s:
            continue
        moved.append(_Loose(a, b, s, kw))
    out = []
    for m in moved:
        a, b = max(0.0, m.a), min(duration_s, m.b)
        if b - a < MIN_SEGMENT_S and m.b - m.a >= MIN_SEGMENT_S:
            continue
        out.append(m.seg.replace(start_s=float(a), end_s=float(max(a, b)), **m.kw))
    return out


@dataclass
class _Loose:
    a: float
    b: float
    seg: Segment
    kw: dict


def as_float32(x: np.ndarray, *, name: str = "samples", ndim: int = 1) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    if x.dtype != np.float32:
        x = x.astype(np.float32)
    return x
