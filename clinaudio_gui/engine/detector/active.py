"""Which recording to label next: queue strategies over the detector's outputs.

- ``uncertainty``: how unsure the detector is about a recording, in [0, 1]: the mean of (a) the
  record-level term of :func:`scoring.uncertainty` (1 - the margin between the two most likely
  record classes, raised to 1 - the confidence of the least sure adventitious event) and (b) the
  frame-level term, the mean normalised entropy of the frame class probabilities over the frames
  where the detector sees activity (any event class, Normal included, above 0.2).
- ``diversity``: greedy k-centre selection over the detector's recording embeddings (the record
  head's input, L2-normalised): each next recording is the one farthest from everything already
  labeled or queued, so a labeling budget spreads over what the recordings sound like.
- ``random``: a seeded permutation (the baseline of the labeling-effort study).

Recordings that fail the signal-quality gate have nothing to teach the detector: they go to the
end of the uncertainty and diversity queues with the reason shown. Unreadable files come last.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.scoring import uncertainty as record_uncertainty

STRATEGIES = ("uncertainty", "diversity", "random")


@dataclass(frozen=True)
class QueueItem:
    audio: str
    score: float
    reason: str


def frame_uncertainty(frame_probs: np.ndarray, *, active: float = 0.2) -> float:
    """Mean normalised entropy (0..1) of the frame class distributions over active frames."""
    p = np.asarray(frame_probs, np.float64)
    if p.ndim != 2 or len(p) == 0:
        return 0.0
    act = (1.0 - p[:, 0]) > active
    if not act.any():
        return 0.0
    q = np.clip(p[act], 1e-12, 1.0)
    h = -(q * np.log(q)).sum(axis=1) / np.log(q.shape[1])
    return float(h.mean())


def analyse_recordings(detector, paths, *, progress=None, should_stop=None) -> dict[str, dict]:
    """path -> the detector's result plus ``embedding`` and ``frame_uncertainty``; an unreadable
    file -> ``{"error": one line}`` (the others go on)."""
    out: dict[str, dict] = {}
    paths = [str(p) for p in paths]
    for i, p in enumerate(paths):
        if should_stop is not None and should_stop():
            break
        try:
            r = detector.detect_file(p, with_frames=True, with_embedding=True)
            r["frame_uncertainty"] = round(frame_uncertainty(r.pop("frame_probabilities")), 4)
            r.pop("hop_s", None)
            out[p] = r
        except Exception as e:  # noqa: BLE001 - one bad file must not stop the queue
            out[p] = {"error": str(e).splitlines()[0] if str(e) else type(e).__name__}
        if progress is not None:
            progress(i + 1, len(paths))
    return out


def uncertainty_score(result: dict) -> tuple[float, str]:
    """(score in [0, 1], reason) of one analysed recording."""
    u_rec, reason = record_uncertainty(result)
    if result.get("quality") not in (None, "ok"):
        return 0.0, reason
    u_frame = float(result.get("frame_uncertainty", 0.0))
    score = 0.5 * (u_rec + u_frame)
    return round(score, 4), f"{reason}; frames {u_frame:.2f}"


def _ok(r: dict) -> bool:
    return "error" not in r and r.get("quality") in (None, "ok")


def rank_queue(results: dict[str, dict], strategy: str, *, seed: int = 0, labeled: Iterable[str] = ()
               ) -> list[QueueItem]:
    """The recordings of ``results`` not in ``labeled``, in the order to label them."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown queue strategy {strategy!r}; one of {', '.join(STRATEGIES)}")
    labeled = {str(p) for p in labeled}
    todo = [p for p in results if p not in labeled]
    errors = [QueueItem(p, -1.0, f"unreadable: {results[p]['error']}") for p in todo if "error" in results[p]]
    todo = [p for p in todo if "error" not in results[p]]
    if strategy == "random":
        rng = np.random.default_rng(seed)
        order = [todo[i] for i in rng.permutation(len(todo))]
        n = max(1, len(order))
        return [QueueItem(p, round(1.0 - i / n, 4), f"random order (seed {seed})")
                for i, p in enumerate(order)] + errors
    good = [p for p in todo if _ok(results[p])]
    poor = [QueueItem(p, 0.0, S.gate_reason(results[p].get("quality"))) for p in todo
            if not _ok(results[p])]
    if strategy == "uncertainty":
        items = [QueueItem(p, *uncertainty_score(results[p])) for p in good]
        items.sort(key=lambda it: (-it.score, it.audio))
        return items + poor + errors
    return _diversity(results, good, labeled) + poor + errors


def _unit(v) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return v / max(np.linalg.norm(v), 1e-12)


def _diversity(results: dict[str, dict], todo: list[str], labeled: set[str]) -> list[QueueItem]:
    if not todo:
        return []
    X = np.array([_unit(results[p]["embedding"]) for p in todo])
    seen = [results[p]["embedding"] for p in labeled if p in results and "embedding" in results[p]]
    if seen:
        S = np.array([_unit(v) for v in seen])
        d = np.min(np.linalg.norm(X[:, None, :] - S[None], axis=-1), axis=1)
        first_reason = "far from the labeled recordings"
    else:   # nothing labeled yet: start from the most typical recording, then spread out
        d = np.full(len(todo), np.inf)
        first_reason = "most typical recording (start of a diverse queue)"
    order, items = [], []
    free = np.ones(len(todo), bool)
    for k in range(len(todo)):
        if np.isinf(d).all():
            i = int(np.argmin(np.linalg.norm(X - X.mean(axis=0), axis=1)))
            dist, reason = 0.0, first_reason
        else:
            cand = np.where(free, d, -np.inf)
            i = int(np.argmax(cand))
            dist = float(d[i])
            reason = (f"unlike anything labeled or queued before it: distance {dist:.2f}" if k or not seen
                      else f"{first_reason}: distance {dist:.2f}")
        free[i] = False
        order.append(i)
        items.append(QueueItem(todo[i], round(dist, 4), reason))
        d = np.minimum(d, np.linalg.norm(X - X[i], axis=1))
        d[~free] = -np.inf
    return items
