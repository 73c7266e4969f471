"""Frame activity -> events: median smoothing, per-class hysteresis thresholds, gap merging and
minimum durations (numpy only; the parameters are chosen on validation patients and stored in
the model's manifest).

``probs`` is (frames, 1 + n_classes): column 0 is "no event", columns 1.. the event classes
(softmax output, rows sum to 1). A frame can belong to at most one event (SPRSound events do not
overlap): the candidate class of a frame is the most probable event class; it is active when its
smoothed probability reaches the class's high threshold, and an active run extends over
neighbouring frames of the same candidate class whose probability stays above
``hysteresis`` x the threshold. Runs of one class separated by at most ``max_gap_s`` merge;
events shorter than ``min_duration_s`` are dropped. Confidence = the mean (calibrated) class
probability over the event's frames. Mode ``proposals`` (the bundled one where validation
prefers it) scores candidate events with a learnt model instead (proposals.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.ndimage import median_filter

from clinaudio_gui.engine.detector.proposals import decode_proposals, settle_s


@dataclass
class DecoderParams:
    thresholds: dict[str, float] = field(default_factory=dict)   # class -> high threshold
    default_threshold: float = 0.5
    hysteresis: float = 0.7          # low threshold = hysteresis * high threshold
    median_frames: int = 5           # odd; 1 = no smoothing
    max_gap_s: float = 0.1
    min_duration_s: float = 0.15
    # "classwise": each class's own activity decides; "segments": cut events where any event is
    # active (1 - p(no event) >= event_threshold), then name each by its mean class probabilities
    # plus per-class log offsets (SPRSound labels whole cycles, so the cut is learnt from every event)
    mode: str = "classwise"
    event_threshold: float = 0.5
    label_offsets: dict[str, float] = field(default_factory=dict)
    # systematic boundary corrections (chosen on validation): the network's activity starts late
    # and ends off by a roughly constant amount; added to every event's start / end
    onset_shift_s: float = 0.0
    offset_shift_s: float = 0.0
    # "proposals" (proposals.py): candidates at every threshold and shift, each scored by the
    # package's learnt scorer (attached by the Detector, not stored in the manifest), the best
    # non-overlapping ones with score >= proposal_threshold kept
    proposal_threshold: float = 0.7
    proposal_base: dict = field(default_factory=dict)   # a thresholding decoder whose events join the
                                                         # candidates (and the scorer's features); {} = none
    proposal_edges: bool = False     # the scorer also sees the edge head's onset / offset activity (edges.py)
    scorer: object = field(default=None, repr=False, compare=False)

    def threshold(self, label: str) -> float:
        return float(self.thresholds.get(label, self.default_threshold))

    @property
    def needs_edges(self) -> bool:
        """Whether decoding needs the edge head's activity (``decode(..., edges=...)``)."""
        return self.mode == "proposals" and self.proposal_edges

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("scorer")
        return d

    def settle_frames(self, hop_s: float) -> int:
        """Frames past an event's end after which more frames cannot change it (streaming)."""
        if self.mode == "proposals":
            return int(np.ceil(settle_s() / hop_s))
        return int(round(self.max_gap_s / hop_s)) + self.median_frames

    @classmethod
    def from_dict(cls, d: dict) -> "DecoderParams":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d and k != "scorer"})


def smooth(probs: np.ndarray, median_frames: int) -> np.ndarray:
    if median_frames <= 1 or len(probs) == 0:
        return probs
    k = int(median_frames) | 1
    return median_filter(probs, size=(k, 1), mode="nearest")


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def decode(probs: np.ndarray, classes: list[str], hop_s: float, params: DecoderParams, *,
           offset_s: float = 0.0, edges: np.ndarray | None = None) -> list[dict]:
    """Events ``{"start_s", "end_s", "label", "confidence"}`` sorted by start.

    ``edges``: (frames, 2) the edge head's onset / offset activity (edges.py), which a proposal
    decoder with ``proposal_edges`` needs (other decoders ignore it).

    ``classes`` names the event columns 1..K of ``probs`` (column 0 = no event); frame i spans
    [i * hop_s, (i + 1) * hop_s) relative to ``offset_s``.
    """
    probs = np.asarray(probs, np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(classes) + 1:
        raise ValueError(f"probs has shape {probs.shape}; expected (frames, {len(classes) + 1})")
    if hop_s <= 0:
        raise ValueError(f"hop_s={hop_s} must be > 0")
    n = len(probs)
    if n == 0:
        return []
    sm = smooth(probs, params.median_frames) if params.mode != "proposals" else probs
    if params.mode == "proposals":
        if params.scorer is None:
            raise ValueError("decoder mode 'proposals' needs the model package's proposal scorer")
        if not params.needs_edges:
            edges = None
        elif edges is None or np.shape(edges) != (n, 2):
            raise ValueError(f"this proposal decoder needs the edge head's onset / offset activity, shape ({n}, 2); "
                             f"got {None if edges is None else np.shape(edges)}")
        base = base_ranges(probs, classes, hop_s, params.proposal_base)
        out = decode_proposals(probs, classes, hop_s, params.scorer, params.proposal_threshold,
                               params.label_offsets, offset_s, base=base, edges=edges)
    elif params.mode == "segments":
        out = _decode_segments(probs, sm, classes, hop_s, params, offset_s)
    elif params.mode == "classwise":
        out = _decode_classwise(sm, classes, hop_s, params, offset_s)
    else:
        raise ValueError(f"mode={params.mode!r} must be classwise, segments or proposals")
    if params.onset_shift_s or params.offset_shift_s:
        lo, hi = offset_s, offset_s + n * hop_s
        for e in out:
            a = min(max(lo, e["start_s"] + params.onset_shift_s), hi)
            b = min(max(lo, e["end_s"] + params.offset_shift_s), hi)
            if b - a < hop_s:
                b = min(hi, a + hop_s)
            e["start_s"], e["end_s"] = round(a, 4), round(b, 4)
        no_overlap(out, hop_s, hi)
    return out


def base_ranges(probs, classes, hop_s: float, base: dict):
    """Frame ranges of the events of ``base`` (a proposal decoder's base decoder, as a dict), or
    None when it is empty."""
    if not base:
        return None
    bp = DecoderParams.from_dict(base)
    if bp.mode == "proposals":
        raise ValueError("a proposal decoder's base decoder must be classwise or segments")
    n = len(probs)
    r = np.array([(round(e["start_s"] / hop_s), round(e["end_s"] / hop_s)) for e in decode(probs, classes, hop_s, bp)],
                 np.int64).reshape(-1, 2).clip(0, n)
    return r[r[:, 1] > r[:, 0]]


def no_overlap(events: list[dict], hop_s: float, end_limit_s: float, prev_end_s: float | None = None) -> None:
    """Shifted boundaries may make neighbours overlap (SPRSound events never do): a later event
    starts where the earlier one ends (in place; events sorted by start)."""
    last = prev_end_s
    for e in events:
        if last is not None and e["start_s"] < last:
            e["start_s"] = round(last, 4)
            if e["end_s"] - e["start_s"] < hop_s:
                e["end_s"] = round(min(end_limit_s, e["start_s"] + hop_s), 4)
        last = e["end_s"]


def _decode_classwise(sm, classes, hop_s, params: DecoderParams, offset_s: float) -> list[dict]:
    n = len(sm)
    ev = sm[:, 1:]
    cand = ev.argmax(axis=1)
    pc = ev[np.arange(n), cand]
    hi = np.array([params.threshold(c) for c in classes])
    seed = pc >= hi[cand]
    low = pc >= params.hysteresis * hi[cand]
    label = np.full(n, -1, np.int64)
    for a, b in _runs(low):
        # split the low-run into same-candidate stretches; keep those holding a seed frame
        i = a
        while i < b:
            j = i
            while j < b and cand[j] == cand[i]:
                j += 1
            if seed[i:j].any():
                label[i:j] = cand[i]
            i = j
    events: list[list] = []   # [start_frame, end_frame, class]
    max_gap = int(round(params.max_gap_s / hop_s))
    for c in range(len(classes)):
        runs = _runs(label == c)
        merged: list[list[int]] = []
        for a, b in runs:
            if merged and a - merged[-1][1] <= max_gap and not (label[merged[-1][1]:a] >= 0).any():
                merged[-1][1] = b
            else:
                merged.append([a, b])
        events += [[a, b, c] for a, b in merged]
    out = []
    min_frames = params.min_duration_s / hop_s
    for a, b, c in sorted(events):
        if b - a < min_frames:
            continue
        conf = float(ev[a:b, c].mean())
        out.append({"start_s": round(offset_s + a * hop_s, 4), "end_s": round(offset_s + b * hop_s, 4),
                    "label": classes[c], "confidence": round(conf, 4)})
    return out


def _decode_segments(probs, sm, classes, hop_s, params: DecoderParams, offset_s: float) -> list[dict]:
    pe = 1.0 - sm[:, 0]
    seed = pe >= params.event_threshold
    low = pe >= params.hysteresis * params.event_threshold
    runs = [(a, b) for a, b in _runs(low) if seed[a:b].any()]
    max_gap = int(round(params.max_gap_s / hop_s))
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] <= max_gap:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    off = np.array([params.label_offsets.get(c, 0.0) for c in classes])
    out = []
    for a, b in merged:
        if (b - a) * hop_s < params.min_duration_s:
            continue
        m = probs[a:b, 1:].mean(axis=0)
        k = int(np.argmax(np.log(np.clip(m / max(m.sum(), 1e-12), 1e-9, 1)) + off))
        out.append({"start_s": round(offset_s + a * hop_s, 4), "end_s": round(offset_s + b * hop_s, 4),
                    "label": classes[k], "confidence": round(float(m[k]), 4)})
    return out
