"""Proposal decoding: many candidate events, each scored by a learnt "does an expert event start
and end here" model, the best non-overlapping ones kept (numpy; the trees and the selection run as
compiled loops from kernels.py where numba is available, with the same results).

Thresholding frame activity (``decode``'s other modes) puts an event's edges where the activity
crosses one threshold; the experts' boundaries are breathing-cycle edges, which that crossing
misses by more than the 0.2 s collar half of the time (docs/models.md, "Where it fails").
Here every threshold is tried at once:

1. **candidates** (``candidates``): the runs of "any event" activity (1 - p(no event)) and of
   one most-probable class, at thresholds 0.2 ... 0.8, on raw and median-smoothed (9 frames)
   probabilities, each with its onset moved by -0.3 ... +0.15 s and its offset by -0.3 ... +0.3 s
   (about 1000 distinct candidates on a 15 s recording); with a base decoder
   (``DecoderParams.proposal_base``, the fold's thresholding decoder) its events join them;
2. **features** (``proposal_features``, 78 per candidate, frame probabilities only, so streaming
   works the same): log duration, mean class probabilities inside, the "any event" and
   "adventitious" activity profiles across each edge (+-0.5 s at 64 ms), the activity in the
   0.5 s before and after, the fraction of active frames, and whether an edge is the recording's;
   with a base decoder 4 more (``base_features``: overlap with and edge differences to its events);
   with an edge head (edges.py, ``DecoderParams.proposal_edges``) 8 more (``edge_features``: its
   onset / offset activity at and around each edge, and the strongest edge inside the candidate);
3. **score**: P(candidate within the evaluation collar of an expert event: onset +-0.2 s, offset
   +-max(0.2 s, 20 %), any class; or, with the "class" target, also named so as to count for it:
   proposal_fit.py), fitted with scikit-learn on the training patients' candidates,
   by ``ProposalScorer`` (100 gradient-boosted trees of depth 4), ``MLPScorer`` (one hidden layer
   of 64) or the mean of both (``MeanScorer``); which one a package uses is chosen per fold on
   the inner-validation patients (proposal_fit.py);
4. **selection** (``select``): greedy, best score first, no overlap, score >= the threshold chosen
   on the inner-validation patients (event F with sed_eval); each kept event is named by its
   mean class probabilities (plus the decoder's label offsets).

The scorers' arrays travel in the package's safetensors (``proposal_scorer.*`` and
``proposal_mlp.*`` buffers of the network, sized by ``DetectorConfig.proposal_trees`` /
``proposal_depth`` and ``proposal_mlp_inputs`` / ``proposal_mlp_hidden``).
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, median_filter

THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
MEDIANS = (1, 9)
ONSET_SHIFTS_S = (-0.3, -0.15, 0.0, 0.15)
OFFSET_SHIFTS_S = (-0.3, -0.15, 0.0, 0.15, 0.3)
MIN_DURATION_S = 0.1
PROFILE_STEP_S = 0.064
PROFILE_STEPS = 8            # each side of an edge
CONTEXT_S = 0.5
CHUNK = 4096                 # candidates scored at once
COLLAR_S = 0.2               # the evaluation's onset collar (sed_eval t_collar)
OFFSET_FRACTION = 0.2        # the evaluation's offset tolerance: max(collar, 20 % of the event)


def settle_s() -> float:
    """How far past an event's end the frames must reach before its proposal decision cannot
    change any more (streaming): the largest offset shift plus the edge profile and context."""
    return max(OFFSET_SHIFTS_S) + max(PROFILE_STEP_S * PROFILE_STEPS, CONTEXT_S) + 0.2


def n_proposal_features(n_frame_classes: int, with_base: bool = False, with_edges: bool = False) -> int:
    return (1 + n_frame_classes + 4 * 2 * PROFILE_STEPS + 5 + (N_BASE_FEATURES if with_base else 0)
            + (N_EDGE_FEATURES if with_edges else 0))


N_BASE_FEATURES = 4
N_EDGE_FEATURES = 8
EDGE_NEAR_S = (0.1, 0.2)     # edge activity windows around a candidate's edges


def _range_max(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """max(x[lo:hi]) per query (0 where the range is empty), by a sparse table (O(1) a query)."""
    n = len(x)
    lo = np.clip(lo, 0, n)
    hi = np.clip(hi, 0, n)
    out = np.zeros(len(lo))
    ok = hi > lo
    if not ok.any():
        return out
    table = [np.asarray(x, np.float64)]
    while (1 << len(table)) <= n:
        p, h = table[-1], 1 << (len(table) - 1)
        table.append(np.maximum(p[:-h], p[h:]))
    a, b = lo[ok], hi[ok]
    k = np.floor(np.log2(b - a)).astype(np.int64)
    res = np.empty(len(a))
    for j in np.unique(k):
        m = k == j
        t = table[j]
        res[m] = np.maximum(t[a[m]], t[b[m] - (1 << j)])
    out[ok] = res
    return out


def edge_features(edges: np.ndarray, cands: np.ndarray, hop_s: float) -> np.ndarray:
    """(n, 8) the edge head's evidence for each candidate (edges.py): onset probability at its
    onset and the largest within +-0.1 / +-0.2 s of it, the same for the offset at its last
    frame, and the largest onset / offset probability strictly inside it beyond +-0.2 s of its
    edges (a neighbour's edge: two events merged into one candidate)."""
    e = np.asarray(edges, np.float64)
    n = len(e)
    if len(cands) == 0:
        return np.zeros((0, N_EDGE_FEATURES), np.float32)
    a, last = cands[:, 0], np.maximum(cands[:, 1] - 1, 0)
    cols = []
    for j, at in ((0, a), (1, last)):
        at = np.clip(at, 0, n - 1)
        cols.append(e[at, j])
        for w_s in EDGE_NEAR_S:   # a window clipped at the ends: "nearest" padding repeats a value inside it
            w = int(round(w_s / hop_s))
            cols.append(maximum_filter1d(e[:, j], 2 * w + 1, mode="nearest")[at])
    w = int(round(max(EDGE_NEAR_S) / hop_s))
    for j in (0, 1):
        cols.append(_range_max(e[:, j], a + w + 1, last - w))
    return np.column_stack(cols).astype(np.float32)


def base_features(cands: np.ndarray, base: np.ndarray, hop_s: float) -> np.ndarray:
    """(n, 4) relation of each candidate to the thresholding decoder's events ``base`` (frame
    ranges): the best overlap (intersection over union), the onset and offset differences (s) to
    that event (0 without overlap), and whether the candidate is that event."""
    if len(cands) == 0 or len(base) == 0:
        return np.zeros((len(cands), N_BASE_FEATURES), np.float32)
    inter = np.maximum(0, np.minimum(cands[:, 1, None], base[None, :, 1])
                       - np.maximum(cands[:, 0, None], base[None, :, 0]))
    union = (cands[:, 1] - cands[:, 0])[:, None] + (base[:, 1] - base[:, 0])[None] - inter
    iou = inter / np.maximum(union, 1)
    j = iou.argmax(axis=1)
    best = iou[np.arange(len(cands)), j]
    on = (best > 0) * (cands[:, 0] - base[j, 0]) * hop_s
    off = (best > 0) * (cands[:, 1] - base[j, 1]) * hop_s
    return np.column_stack([best, on, off, best > 0.999]).astype(np.float32)


def all_features(probs: np.ndarray, cands: np.ndarray, hop_s: float, base: np.ndarray | None,
                 edges: np.ndarray | None = None) -> np.ndarray:
    """``proposal_features``, plus ``base_features`` when the decoder has a base decoder, plus
    ``edge_features`` when given the edge head's activity ``edges`` (frames, 2)."""
    x = [proposal_features(probs, cands, hop_s)]
    if base is not None:
        x.append(base_features(cands, base, hop_s))
    if edges is not None:
        x.append(edge_features(edges, cands, hop_s))
    return x[0] if len(x) == 1 else np.concatenate(x, axis=1)


def _const_runs(lab: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    """Runs of one value >= 0 in ``lab`` at least ``min_len`` long."""
    n = len(lab)
    if n == 0:
        return []
    cut = np.flatnonzero(np.diff(lab) != 0) + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [n]])
    keep = (lab[starts] >= 0) & (ends - starts >= min_len)
    return list(zip(starts[keep].tolist(), ends[keep].tolist()))


def candidates(probs: np.ndarray, hop_s: float, base: np.ndarray | None = None) -> np.ndarray:
    """(n, 2) int frame ranges [start, end) of the candidate events, sorted, distinct; ``base``
    (frame ranges of the thresholding decoder's events) joins them unshifted."""
    probs = np.asarray(probs, np.float64)
    n = len(probs)
    min_len = int(np.floor(MIN_DURATION_S / hop_s + 1e-9)) + 1
    runs = set()
    for med in MEDIANS:
        sm = probs if med <= 1 or n == 0 else median_filter(probs, size=(med | 1, 1), mode="nearest")
        pe = 1.0 - sm[:, 0]
        ev = sm[:, 1:]
        cand = ev.argmax(axis=1) if n else np.zeros(0, np.int64)
        pc = ev.max(axis=1) if n else np.zeros(0)
        for thr in THRESHOLDS:
            runs.update(_const_runs(np.where(pe >= thr, 0, -1), min_len))
            runs.update(_const_runs(np.where(pc >= thr, cand, -1), min_len))
    extra = np.zeros((0, 2), np.int64) if base is None or len(base) == 0 else np.asarray(base, np.int64)
    if not runs:
        return np.unique(extra, axis=0) if len(extra) else extra
    b = np.array(sorted(runs), np.int64)
    ds = np.round(np.array(ONSET_SHIFTS_S) / hop_s).astype(np.int64)
    de = np.round(np.array(OFFSET_SHIFTS_S) / hop_s).astype(np.int64)
    s = np.clip(b[:, 0, None, None] + ds[None, :, None], 0, n)
    e = np.clip(b[:, 1, None, None] + de[None, None, :], 0, n)
    s, e = np.broadcast_arrays(s, e)
    c = np.stack([s.ravel(), e.ravel()], 1)
    c = c[c[:, 1] - c[:, 0] >= min_len - 1]
    c = np.concatenate([c, extra]) if len(extra) else c
    if len(c) == 0 or c.min() < 0:
        return np.unique(c, axis=0)
    w = int(c[:, 1].max()) + 1   # one int per range: np.unique(c, axis=0)'s order (start, end), 10x faster
    code = np.unique(c[:, 0] * w + c[:, 1])
    return np.stack([code // w, code % w], 1)


def proposal_features(probs: np.ndarray, cands: np.ndarray, hop_s: float) -> np.ndarray:
    """(n_candidates, n_proposal_features) features of candidate ranges (frames) of ``probs``."""
    probs = np.asarray(probs, np.float64)
    n, k = probs.shape
    if len(cands) == 0:
        return np.zeros((0, n_proposal_features(k)), np.float32)
    a, b = cands[:, 0], cands[:, 1]
    length = np.maximum(b - a, 1)
    cs = np.vstack([np.zeros((1, k)), np.cumsum(probs, 0)])
    mean = (cs[b] - cs[a]) / length[:, None]
    pe = 1.0 - probs[:, 0]
    pa = 1.0 - probs[:, 0] - probs[:, 1]          # adventitious activity (column 1 = Normal)
    step = max(1, int(round(PROFILE_STEP_S / hop_s)))
    offs = np.arange(-PROFILE_STEPS, PROFILE_STEPS) * step

    def profile(x, at):
        return x[np.clip(at[:, None] + offs[None], 0, n - 1)]

    ctx = int(round(CONTEXT_S / hop_s))
    cpe = np.concatenate([[0.0], np.cumsum(pe)])
    lo, hi = np.maximum(0, a - ctx), np.minimum(n, b + ctx)
    before = (cpe[a] - cpe[lo]) / np.maximum(1, a - lo)
    after = (cpe[hi] - cpe[b]) / np.maximum(1, hi - b)
    cb = np.concatenate([[0.0], np.cumsum(pe > 0.5)])
    frac = (cb[b] - cb[a]) / length
    last = np.maximum(b - 1, 0)
    return np.column_stack([np.log(length * hop_s), mean, profile(pe, a), profile(pe, last),
                            profile(pa, a), profile(pa, last), before, after, frac,
                            a == 0, b == n]).astype(np.float32)


def match_targets(cands: np.ndarray, events, hop_s: float) -> np.ndarray:
    """True where a candidate lies within the evaluation's collars of an expert event (any class)."""
    y = np.zeros(len(cands), bool)
    s_c, e_c = cands[:, 0] * hop_s, cands[:, 1] * hop_s
    for s, e, *_ in events:
        tol = max(COLLAR_S, OFFSET_FRACTION * (e - s))
        y |= (np.abs(s_c - s) <= COLLAR_S) & (np.abs(e_c - e) <= tol)
    return y


class ProposalScorer:
    """Gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier, depth <= 4) stored
    as complete binary trees of arrays and evaluated in numpy: P(candidate matches an expert event).

    ``feature`` / ``threshold`` (trees, 2^depth - 1) are the split nodes in breadth-first order
    (x[feature] > threshold goes right), ``value`` (trees, 2^depth) the leaves, ``baseline`` the
    initial log-odds. A leaf above the full depth is padded with never-taken splits."""

    def __init__(self, feature, threshold, value, baseline):
        self.feature = np.asarray(feature, np.int64)
        self.threshold = np.asarray(threshold, np.float64)
        self.value = np.asarray(value, np.float64)
        self.baseline = float(np.asarray(baseline).reshape(-1)[0])
        self.depth = int(np.log2(self.value.shape[1]))
        if self.feature.shape != self.threshold.shape or self.value.shape[1] != self.feature.shape[1] + 1:
            raise ValueError(f"inconsistent proposal scorer arrays {self.feature.shape} {self.value.shape}")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, np.float64)
        n, nf = x.shape
        t, m = self.feature.shape
        if n == 0 or t == 0:
            return np.full(n, 1.0 / (1.0 + np.exp(-self.baseline)))
        from clinaudio_gui.engine.detector.kernels import tree_log_odds
        raw = tree_log_odds(x, self.feature, self.threshold, self.value)   # compiled; None without numba
        if raw is not None:
            return 1.0 / (1.0 + np.exp(-(self.baseline + raw)))
        feat, thr = self.feature.ravel(), self.threshold.ravel()
        base = (np.arange(t) * m)[None, :]
        rows = (np.arange(n) * nf)[:, None]
        xf = x.ravel()
        k = np.zeros((n, t), np.int64)
        for _ in range(self.depth):
            j = base + k
            k = 2 * k + 1 + (np.take(xf, rows + np.take(feat, j)) > np.take(thr, j))
        leaf = k - m + (np.arange(t) * (m + 1))[None, :]
        raw = self.baseline + np.take(self.value.ravel(), leaf).sum(axis=1)
        return 1.0 / (1.0 + np.exp(-raw))

    def arrays(self) -> dict[str, np.ndarray]:
        return {"feature": self.feature, "threshold": self.threshold, "value": self.value,
                "baseline": np.array([self.baseline])}

    @classmethod
    def from_arrays(cls, d: dict) -> "ProposalScorer":
        return cls(d["feature"], d["threshold"], d["value"], d["baseline"])

    @classmethod
    def from_sklearn(cls, hgb, depth: int) -> "ProposalScorer":
        """From a fitted binary HistGradientBoostingClassifier with max_depth <= ``depth``."""
        m = 2 ** depth - 1
        trees = [p[0].nodes for p in hgb._predictors]
        feat = np.zeros((len(trees), m), np.int64)
        thr = np.full((len(trees), m), np.inf)
        val = np.zeros((len(trees), m + 1))
        for t, nodes in enumerate(trees):
            stack = [(0, 0, 0)]   # (sklearn node, position in the complete tree, depth)
            while stack:
                i, pos, d = stack.pop()
                nd = nodes[i]
                if nd["is_leaf"]:
                    lo, hi = pos, pos   # every leaf under pos gets the value (only the leftmost is reached)
                    for _ in range(depth - d):
                        lo, hi = 2 * lo + 1, 2 * hi + 2
                    val[t, lo - m:hi - m + 1] = nd["value"]
                    continue
                if d >= depth:
                    raise ValueError(f"a tree is deeper than {depth}")
                feat[t, pos], thr[t, pos] = nd["feature_idx"], nd["num_threshold"]
                stack += [(int(nd["left"]), 2 * pos + 1, d + 1), (int(nd["right"]), 2 * pos + 2, d + 1)]
        return cls(feat, thr, val, float(np.ravel(hgb._baseline_prediction)[0]))

    @classmethod
    def merged(cls, members: list["ProposalScorer"]) -> "ProposalScorer":
        """One scorer whose log-odds are the mean of ``members``' (bagging): their trees side by
        side with leaf values divided by their number, the mean of their baselines."""
        if not members or len({m.depth for m in members}) != 1:
            raise ValueError("merging proposal scorers needs one or more of the same depth")
        k = len(members)
        return cls(np.concatenate([m.feature for m in members]), np.concatenate([m.threshold for m in members]),
                   np.concatenate([m.value for m in members]) / k, float(np.mean([m.baseline for m in members])))

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, *, trees: int = 100, depth: int = 4,
            seed: int = 0) -> "ProposalScorer":
        from sklearn.ensemble import HistGradientBoostingClassifier
        hgb = HistGradientBoostingClassifier(max_depth=depth, max_iter=trees, random_state=seed)
        hgb.fit(np.asarray(x, np.float64), np.asarray(y, bool))
        return cls.from_sklearn(hgb, depth)


class MLPScorer:
    """A one-hidden-layer network (ReLU, logistic output; scikit-learn's MLPClassifier on features
    standardised with the training rows' mean / std) as arrays, evaluated in numpy."""

    KEYS = ("mean", "scale", "w1", "b1", "w2", "b2")

    def __init__(self, mean, scale, w1, b1, w2, b2):
        self.mean, self.scale = np.asarray(mean, np.float64).ravel(), np.asarray(scale, np.float64).ravel()
        self.w1, self.b1 = np.asarray(w1, np.float64), np.asarray(b1, np.float64).ravel()
        self.w2, self.b2 = np.asarray(w2, np.float64).ravel(), float(np.asarray(b2).ravel()[0])
        if self.w1.shape != (len(self.mean), len(self.b1)) or len(self.w2) != len(self.b1):
            raise ValueError(f"inconsistent proposal network arrays {self.w1.shape} {self.w2.shape}")

    @property
    def inputs(self) -> int:
        return len(self.mean)

    @property
    def hidden(self) -> int:
        return len(self.b1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if x.shape[0] == 0:
            return np.zeros(0)
        h = np.maximum(((x - self.mean) / self.scale) @ self.w1 + self.b1, 0.0)
        return 1.0 / (1.0 + np.exp(-(h @ self.w2 + self.b2)))

    def arrays(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "scale": self.scale, "w1": self.w1, "b1": self.b1, "w2": self.w2,
                "b2": np.array([self.b2])}

    @classmethod
    def from_arrays(cls, d: dict) -> "MLPScorer":
        return cls(*(d[k] for k in cls.KEYS))

    @classmethod
    def from_sklearn(cls, pipe) -> "MLPScorer":
        """From a fitted make_pipeline(StandardScaler(), MLPClassifier((h,), activation="relu"))."""
        sc, mlp = pipe[0], pipe[-1]
        if mlp.activation != "relu" or len(mlp.coefs_) != 2:
            raise ValueError("only a one-hidden-layer ReLU network can be stored")
        return cls(sc.mean_, sc.scale_, mlp.coefs_[0], mlp.intercepts_[0], mlp.coefs_[1][:, 0], mlp.intercepts_[1])

    @classmethod
    def merged(cls, members: list["MLPScorer"]) -> "MLPScorer":
        """One network whose logit is the mean of ``members``' (bagging): their hidden units side
        by side, each member's own standardisation folded into its first layer (the first member's
        mean / scale kept), output weights divided by their number."""
        if not members or len({m.inputs for m in members}) != 1:
            raise ValueError("merging proposal networks needs one or more with the same inputs")
        m0, s0, k = members[0].mean, members[0].scale, len(members)
        w1 = np.concatenate([(s0 / m.scale)[:, None] * m.w1 for m in members], axis=1)
        b1 = np.concatenate([m.b1 + ((m0 - m.mean) / m.scale) @ m.w1 for m in members])
        w2 = np.concatenate([m.w2 for m in members]) / k
        return cls(m0, s0, w1, b1, w2, float(np.mean([m.b2 for m in members])))

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, *, hidden: int = 64, seed: int = 0,
            max_iter: int = 60) -> "MLPScorer":
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        pipe = make_pipeline(StandardScaler(), MLPClassifier((hidden,), alpha=1e-3, max_iter=max_iter,
                                                             random_state=seed))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)   # a fixed budget of epochs, by design
            pipe.fit(np.asarray(x, np.float64), np.asarray(y, bool))
        return cls.from_sklearn(pipe)


class MeanScorer:
    """The mean of several scorers' probabilities (the trees and the network together)."""

    def __init__(self, *scorers):
        self.scorers = scorers

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.mean([s(x) for s in self.scorers], axis=0)


def select(cands: np.ndarray, scores: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Greedy: best score first, kept when >= ``threshold`` and overlapping no kept candidate."""
    if len(cands) == 0:
        return []
    from clinaudio_gui.engine.detector.kernels import select_kept
    kept = select_kept(cands, scores, threshold)   # compiled; None without numba
    if kept is not None:
        return sorted((int(cands[j, 0]), int(cands[j, 1])) for j in kept)
    n = int(cands[:, 1].max())
    taken = np.zeros(n + 1, bool)
    out = []
    for j in np.argsort(-scores, kind="stable"):
        if scores[j] < threshold:
            break
        a, b = int(cands[j, 0]), int(cands[j, 1])
        if taken[a:b].any():
            continue
        taken[a:b] = True
        out.append((a, b))
    return sorted(out)


def score_candidates(probs: np.ndarray, hop_s: float, scorer, base: np.ndarray | None = None,
                     edges: np.ndarray | None = None):
    """(candidates, scores); scored in chunks: an hour-long recording has a few hundred thousand
    candidates (memory stays flat)."""
    probs = np.asarray(probs, np.float64)
    c = candidates(probs, hop_s, base)
    # the edge features once for all candidates (their window maxima cover the whole recording)
    ef = edge_features(edges, c, hop_s) if edges is not None else None

    def chunk(i):
        x = all_features(probs, c[i:i + CHUNK], hop_s, base)
        return x if ef is None else np.concatenate([x, ef[i:i + CHUNK]], axis=1)   # as all_features orders them
    scores = np.concatenate([scorer(chunk(i)) for i in range(0, len(c), CHUNK)]) if len(c) else np.zeros(0)
    return c, scores


def label_choice(means: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The class index each event is named by, from its mean class probabilities (n, K):
    normalised, in log, plus the decoder's per-class label offsets (K)."""
    m = np.atleast_2d(np.asarray(means, np.float64))
    return np.argmax(np.log(np.clip(m / np.maximum(m.sum(1, keepdims=True), 1e-12), 1e-9, 1)) + offsets, axis=1)


def name_events(probs: np.ndarray, classes: list[str], hop_s: float, keep, label_offsets: dict,
                offset_s: float = 0.0) -> list[dict]:
    """The kept frame ranges as events, each named by its mean class probabilities (+ offsets)."""
    off = np.array([label_offsets.get(x, 0.0) for x in classes])
    out = []
    for a, b in keep:
        m = probs[a:b, 1:].mean(axis=0)
        k = int(label_choice(m, off)[0])
        out.append({"start_s": round(offset_s + a * hop_s, 4), "end_s": round(offset_s + b * hop_s, 4),
                    "label": classes[k], "confidence": round(float(m[k]), 4)})
    return out


def decode_proposals(probs: np.ndarray, classes: list[str], hop_s: float, scorer, threshold: float,
                     label_offsets: dict, offset_s: float = 0.0, base: np.ndarray | None = None,
                     edges: np.ndarray | None = None) -> list[dict]:
    """Events ``{"start_s", "end_s", "label", "confidence"}`` by proposal scoring; ``scorer``: a
    ProposalScorer, MLPScorer or MeanScorer; ``base``: the frame ranges of the base decoder's
    events (candidates and features), or None; ``edges``: the edge head's activity (features)."""
    probs = np.asarray(probs, np.float64)
    c, scores = score_candidates(probs, hop_s, scorer, base, edges)
    return name_events(probs, classes, hop_s, select(c, scores, threshold), label_offsets, offset_s)
