"""Where segment captions go so that they never cover each other (Qt-free, used by the timeline).

Captions sit at the top of the waveform, each starting at its segment's start. Captions whose
horizontal extents (in pixels, at the current zoom) overlap are stacked in lanes, one caption
height apart; a caption that would need more than ``max_lanes`` lanes is hidden (the segment
itself stays drawn, and its label is in the segment table and the tooltip).
"""
from __future__ import annotations

from typing import Sequence

MAX_LANES = 3
GAP_PX = 3.0


def caption_lanes(spans_px: Sequence[tuple[float, float]], *, max_lanes: int = MAX_LANES,
                  gap_px: float = GAP_PX) -> list[int | None]:
    """Lane (0 = top) of each caption given its (left, right) extent in pixels; None = hidden.

    Greedy by left edge: each caption takes the first lane whose last caption ends ``gap_px``
    before it starts. Deterministic: equal inputs give equal lanes.
    """
    order = sorted(range(len(spans_px)), key=lambda i: (spans_px[i][0], spans_px[i][1], i))
    lane_end: list[float] = []
    out: list[int | None] = [None] * len(spans_px)
    for i in order:
        left, right = spans_px[i]
        for k, end in enumerate(lane_end):
            if left >= end + gap_px:
                lane_end[k] = right
                out[i] = k
                break
        else:
            if len(lane_end) < max_lanes:
                lane_end.append(right)
                out[i] = len(lane_end) - 1
    return out
