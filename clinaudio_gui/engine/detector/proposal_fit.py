"""Fitting the proposal decoder (proposals.py) of a trained detector, and attaching its scorer.

The scorer is fitted on the training patients' candidates (every positive, 60 random negatives
per recording), its threshold on the inner-validation patients (event micro F, sed_eval), and the
proposal decoder replaces the package's thresholding decoder only where it scores higher on those
validation patients. Nothing is chosen on test patients.
"""
from __future__ import annotations

import numpy as np

from clinaudio_gui.engine.common.data import EVENT_LABELS
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.decode import DecoderParams, base_ranges, decode
from clinaudio_gui.engine.detector.model import DetectorNet, rebuilt
from clinaudio_gui.engine.detector.proposals import (ProposalScorer, all_features, candidates, match_targets,
                                                     n_proposal_features)

THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.96)
NEGATIVES_PER_RECORDING = 60
TREES, DEPTH = 100, 4


def decoder_params(net: DetectorNet, decoder: dict) -> DecoderParams:
    """The manifest's decoder, with the network's proposal scorer attached when it has one."""
    p = DecoderParams.from_dict(decoder or {})
    if hasattr(net, "proposal_scorer"):
        p.scorer = ProposalScorer.from_arrays(net.proposal_scorer.arrays())
    return p


def with_proposal_scorer(net: DetectorNet, scorer: ProposalScorer) -> DetectorNet:
    """A copy of ``net`` whose config and buffers hold ``scorer`` (the rest of the state kept)."""
    a = scorer.arrays()
    new = rebuilt(net, "proposal_scorer.", proposal_trees=int(a["feature"].shape[0]), proposal_depth=scorer.depth)
    new.proposal_scorer.set(a)
    return new


def _base(fp: np.ndarray, base: DecoderParams | None, hop_s: float):
    return None if base is None else base_ranges(fp, list(EVENT_LABELS), hop_s, base.to_dict())


def _candidate_rows(probs: list[np.ndarray], events: list, hop_s: float, base: DecoderParams | None = None,
                    seed: int = 0):
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for fp, ev in zip(probs, events):
        b = _base(fp, base, hop_s)
        c = candidates(fp, hop_s, b)
        if len(c) == 0:
            continue
        y = match_targets(c, ev, hop_s)
        pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
        if len(neg) > NEGATIVES_PER_RECORDING:
            neg = rng.choice(neg, NEGATIVES_PER_RECORDING, replace=False)
        k = np.concatenate([pos, neg])
        xs.append(all_features(fp, c[k], hop_s, b))
        ys.append(y[k])
    if not xs:
        nf = n_proposal_features(len(EVENT_LABELS) + 1, base is not None)
        return np.zeros((0, nf), np.float32), np.zeros(0, bool)
    return np.concatenate(xs), np.concatenate(ys)


def fit_proposal_decoder(net: DetectorNet, recs, tr_idx, tr_out, va_idx, va_out, t_frame: float,
                         base: DecoderParams, hop_s: float, log=print, seed: int = 0):
    """(network, decoder params, summary): the proposal decoder where validation prefers it over
    ``base``, else ``net`` and ``base`` unchanged (the summary says which and why). Two proposal
    decoders are tried: candidates from thresholds alone, and with ``base``'s own events joining
    them (``proposal_base``, the scorer seeing how a candidate relates to them)."""
    from clinaudio_gui.metrics.events import event_metrics
    tr_p = [S.softmax(fl / t_frame) for fl, _ in tr_out]
    va_p = [S.softmax(fl / t_frame) for fl, _ in va_out]
    ref = {recs[i].audio: list(recs[i].events) for i in va_idx}
    dur = {recs[i].audio: recs[i].duration_s for i in va_idx}

    def val_f(p: DecoderParams) -> float:
        est = {recs[i].audio: [(e["start_s"], e["end_s"], e["label"]) for e in decode(fp, EVENT_LABELS, hop_s, p)]
               for fp, i in zip(va_p, va_idx)}
        return float(event_metrics(ref, est, durations_s=dur)["event_based"]["micro"]["f"] or 0.0)

    base_f = val_f(base)
    thresholding = base if base.mode != "proposals" else (
        DecoderParams.from_dict(base.proposal_base) if base.proposal_base else None)
    variants = {"thresholds": None}
    if thresholding is not None:
        variants["thresholds+base"] = thresholding
    info = {"validation_event_f_thresholding": round(base_f, 4), "variants": {}}
    best = None
    for name, b in variants.items():
        x, y = _candidate_rows(tr_p, [recs[i].events for i in tr_idx], hop_s, base=b, seed=seed)
        if len(y) == 0 or y.all() or not y.any():
            info["variants"][name] = {"why": "no usable training candidates"}
            continue
        scorer = ProposalScorer.fit(x, y, trees=TREES, depth=DEPTH, seed=seed)
        pb = b.to_dict() if b is not None else {}
        tried = {}
        for thr in THRESHOLDS:
            tried[thr] = round(val_f(DecoderParams(mode="proposals", proposal_threshold=thr, min_duration_s=0.1,
                                                   proposal_base=pb, scorer=scorer)), 4)
        thr = max(tried, key=lambda t: (tried[t], -abs(t - 0.7)))
        info["variants"][name] = {"fitted_on_rows": int(len(y)), "positive_fraction": round(float(y.mean()), 4),
                                  "validation_event_f_by_threshold": {str(k): v for k, v in tried.items()},
                                  "threshold": thr, "validation_event_f": tried[thr]}
        log(f"  proposals ({name}): validation event F {tried[thr]:.4f} at threshold {thr} "
            f"(thresholding decoder {base_f:.4f})")
        if best is None or tried[thr] > best[0]:
            best = (tried[thr], name, thr, pb, scorer)
    if best is None:
        log("  proposals: no usable training candidates; decoder kept")
        return net, base, {**info, "used": False, "why": "no usable training candidates"}
    f, name, thr, pb, scorer = best
    info.update({"trees": int(scorer.feature.shape[0]), "depth": scorer.depth, "variant": name,
                 "threshold": thr, "validation_event_f": f})
    if f <= base_f:
        return net, base, {**info, "used": False, "why": "validation prefers the thresholding decoder"}
    params = DecoderParams(mode="proposals", proposal_threshold=thr, min_duration_s=0.1, proposal_base=pb,
                           label_offsets=dict(base.label_offsets) if base.mode == "segments" else {})
    net = with_proposal_scorer(net, scorer)
    params.scorer = ProposalScorer.from_arrays(net.proposal_scorer.arrays())
    return net, params, {**info, "used": True}
