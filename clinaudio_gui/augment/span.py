"""Augment one span of a recording and splice it back, labels included.

Used by the GUI's "apply to the selected segment": the recording keeps its context, only
[start_s, end_s) is transformed; if the transform changes that span's length (stretch,
trim), everything after it moves by the difference. Segments inside the span are mapped by
the transform; segments after it are shifted; a segment crossing a span edge is split at
the edge, the outside part kept (shifted if after), the inside part mapped. The first and
last 5 ms of the span crossfade with the untouched recording, so the splice does not click.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from clinaudio_gui.augment.base import MIN_SEGMENT_S, Transform
from clinaudio_gui.core.segment import Segment

CROSSFADE_S = 0.005


def augment_span(transform: Transform, y: np.ndarray, sample_rate_hz: int, params: dict,
                 segments: Sequence[Segment], *, start_s: float, end_s: float
                 ) -> tuple[np.ndarray, list[Segment]]:
    sr = int(sample_rate_hz)
    a = max(0, min(len(y), int(round(start_s * sr))))
    b = max(a, min(len(y), int(round(end_s * sr))))
    if b - a < 2:
        raise ValueError(f"span {start_s:.3f}-{end_s:.3f} s is too short to augment")
    t_a, t_b = a / sr, b / sr
    inside, outside = [], []
    for s in segments:
        if s.end_s <= t_a or s.start_s >= t_b:
            outside.append(s)
            continue
        if s.start_s < t_a:                      # part before the span stays
            outside.append(s.replace(end_s=t_a))
        if s.end_s > t_b:                        # part after the span stays (shifted below)
            outside.append(s.replace(start_s=t_b, id=s.id + "_after"))   # a piece of its own
        inside.append(s.replace(start_s=max(s.start_s, t_a) - t_a, end_s=min(s.end_s, t_b) - t_a))
    mid, mapped = transform.apply_with_segments(y[a:b], sr, params, inside)
    mid = np.array(mid, dtype=np.float32, copy=True)
    # 5 ms raised-cosine crossfades inside the span's edges, from and back to the untouched
    # recording, so the splice does not click
    k = min(int(CROSSFADE_S * sr), len(mid) // 4, (b - a) // 4)
    if k > 1:
        w = (0.5 - 0.5 * np.cos(np.pi * np.arange(k) / k)).astype(np.float32)
        mid[:k] = w * mid[:k] + (1 - w) * y[a:a + k]
        mid[-k:] = (1 - w) * mid[-k:] + w * y[b - k:b]
    delta_s = (len(mid) - (b - a)) / sr
    out = np.concatenate([y[:a], mid, y[b:]]).astype(np.float32, copy=False)
    result = []
    for s in outside:
        if s.start_s >= t_b:
            s = s.replace(start_s=s.start_s + delta_s, end_s=s.end_s + delta_s)
        if s.end_s - s.start_s >= MIN_SEGMENT_S or s.end_s == s.start_s:
            result.append(s)
    result += [s.replace(start_s=s.start_s + t_a, end_s=s.end_s + t_a) for s in mapped]
    return out, sorted(result, key=lambda s: (s.start_s, s.end_s))
