"""A labeled time span (optionally a time-frequency box) of a recording."""
from __future__ import annotations

import math
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any

SOURCES = ("human", "model")


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Segment:
    """Immutable: edits create a new Segment with the same ``id`` (see commands)."""

    start_s: float
    end_s: float
    label: str
    low_hz: float | None = None
    high_hz: float | None = None
    annotator: str = ""
    source: str = "human"
    confidence: float | None = None
    note: str = ""
    id: str = field(default_factory=_new_id)

    def __post_init__(self) -> None:
        for name in ("start_s", "end_s"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise ValueError(f"{name}={v!r} must be a finite number of seconds")
        if self.start_s < 0:
            raise ValueError(f"start_s={self.start_s!r} must be >= 0")
        if self.end_s < self.start_s:
            raise ValueError(f"end_s={self.end_s!r} must be >= start_s={self.start_s!r}")
        if not isinstance(self.label, str):
            raise ValueError(f"label={self.label!r} must be a string")
        if (self.low_hz is None) != (self.high_hz is None):
            raise ValueError("low_hz and high_hz must be given together (a box) or not at all")
        if self.low_hz is not None:
            for name in ("low_hz", "high_hz"):
                v = getattr(self, name)
                if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                    raise ValueError(f"{name}={v!r} must be a finite frequency >= 0")
            if self.high_hz < self.low_hz:
                raise ValueError(f"high_hz={self.high_hz!r} must be >= low_hz={self.low_hz!r}")
        if self.source not in SOURCES:
            raise ValueError(f"source={self.source!r} must be one of {SOURCES}")
        if self.confidence is not None and not (0.0 <= self.confidence <= 1.0):
            raise ValueError(f"confidence={self.confidence!r} must be within [0, 1]")

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def is_box(self) -> bool:
        return self.low_hz is not None

    def replace(self, **changes: Any) -> "Segment":
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Segment":
        known = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in d.items() if k in known}
        if "id" in kw and not kw["id"]:
            kw.pop("id")
        return cls(**kw)
