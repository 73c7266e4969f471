"""Fitting the proposal decoder (proposals.py) of a trained detector, and attaching its scorer.

The scorers (trees and a one-layer network) are fitted on the training patients' candidates
(every positive, 60 random negatives per recording), a positive being a candidate within the
evaluation's collars of an expert event ("any" target) or, in addition, named so that it counts
for that event ("class" target: a candidate over a Normal cycle that the decoder would name
"Fine Crackle" is then a negative); which scorer (trees, network, or the mean of both), which
target, which candidate set and which score threshold are chosen on the inner-validation patients
(event micro F, sed_eval), and the proposal decoder replaces the package's thresholding decoder
only where it scores higher on those validation patients. Nothing is chosen on test patients.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clinaudio_gui.engine.common.data import EVENT_LABELS
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.decode import DecoderParams, base_ranges, decode
from clinaudio_gui.engine.detector.model import DetectorNet, rebuilt
from clinaudio_gui.engine.detector.proposals import (MeanScorer, MLPScorer, ProposalScorer, all_features,
                                                     candidates, label_choice, match_targets, n_proposal_features,
                                                     name_events, select)

THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.96)
NEGATIVES_PER_RECORDING = 60
TREES, DEPTH = 100, 4
HIDDEN = 64
SCORERS = ("trees", "network", "trees+network")
TARGETS = ("any", "class")   # a positive candidate: near an expert event; or also named so as to count for it
VARIANTS = ("thresholds", "thresholds+base")
THRESHOLD_RULES = ("max", "smoothed")


@dataclass(frozen=True)
class ProposalSearch:
    """What the proposal search may choose on a fold's inner-validation patients. The default is
    the full search (2 candidate sets x 2 targets x 3 scorers x 9 thresholds, the raw maximum);
    fewer choices over-rate the winner less on 113-463 validation events. ``threshold_rule``
    "smoothed": the threshold (and the variant) with the highest mean validation F over itself and
    its neighbours on the THRESHOLDS grid, so a one-point spike is not chosen."""
    targets: tuple = TARGETS
    variants: tuple = VARIANTS
    scorers: tuple = SCORERS
    threshold_rule: str = "max"
    bags: int = 1

    def __post_init__(self):
        for name, got, allowed in (("targets", self.targets, TARGETS), ("variants", self.variants, VARIANTS),
                                   ("scorers", self.scorers, SCORERS)):
            if not got or any(x not in allowed for x in got):
                raise ValueError(f"proposal search {name} {got!r}: each must be one of {', '.join(allowed)}")
        if self.threshold_rule not in THRESHOLD_RULES:
            raise ValueError(f"proposal threshold rule {self.threshold_rule!r}: one of {', '.join(THRESHOLD_RULES)}")
        if not isinstance(self.bags, int) or not 1 <= self.bags <= 16:
            raise ValueError(f"proposal bags {self.bags!r}: an integer from 1 to 16")

    def to_dict(self) -> dict:
        d = {"targets": list(self.targets), "variants": list(self.variants), "scorers": list(self.scorers),
             "threshold_rule": self.threshold_rule}
        if self.bags > 1:
            d["bags"] = self.bags
        return d


def choose_threshold(tried: dict, rule: str = "max") -> tuple[float, float]:
    """(threshold, criterion) from ``tried`` (threshold -> validation F, in grid order). "max": the
    highest F; "smoothed": the highest mean of F over the threshold and its grid neighbours (one
    at the grid's ends). Ties go to the threshold nearest 0.7."""
    ths = list(tried)
    if rule == "max":
        crit = {t: float(tried[t]) for t in ths}
    elif rule == "smoothed":
        crit = {t: float(np.mean([tried[ths[j]] for j in range(max(0, i - 1), min(len(ths), i + 2))]))
                for i, t in enumerate(ths)}
    else:
        raise ValueError(f"threshold rule {rule!r}: one of {', '.join(THRESHOLD_RULES)}")
    thr = max(crit, key=lambda t: (round(crit[t], 4), -abs(t - 0.7)))
    return thr, crit[thr]


def decoder_params(net: DetectorNet, decoder: dict) -> DecoderParams:
    """The manifest's decoder, with the network's proposal scorer attached when it has one (the
    trees, the one-layer network, or the mean of both when it holds both)."""
    p = DecoderParams.from_dict(decoder or {})
    scorers = []
    if hasattr(net, "proposal_scorer"):
        scorers.append(ProposalScorer.from_arrays(net.proposal_scorer.arrays()))
    if hasattr(net, "proposal_mlp"):
        scorers.append(MLPScorer.from_arrays(net.proposal_mlp.arrays()))
    if scorers:
        p.scorer = scorers[0] if len(scorers) == 1 else MeanScorer(*scorers)
    return p


def with_proposal_scorer(net: DetectorNet, trees: ProposalScorer | None = None,
                         mlp: MLPScorer | None = None) -> DetectorNet:
    """A copy of ``net`` whose config and buffers hold ``trees`` and / or ``mlp`` (any scorer it
    held before is replaced; the rest of the state kept)."""
    a = trees.arrays() if trees is not None else None
    new = rebuilt(net, "proposal_", proposal_trees=0 if a is None else int(a["feature"].shape[0]),
                  proposal_depth=0 if a is None else trees.depth,
                  proposal_mlp_inputs=0 if mlp is None else mlp.inputs,
                  proposal_mlp_hidden=0 if mlp is None else mlp.hidden)
    if a is not None:
        new.proposal_scorer.set(a)
    if mlp is not None:
        new.proposal_mlp.set(mlp.arrays())
    return new


def _base(fp: np.ndarray, base: DecoderParams | None, hop_s: float):
    return None if base is None else base_ranges(fp, list(EVENT_LABELS), hop_s, base.to_dict())


def _compatible() -> np.ndarray:
    """(7, 7) bool: may an event named ``EVENT_LABELS[i]`` count for an expert event
    ``EVENT_LABELS[j]`` under the evaluation's label protocol (Normal for Normal; otherwise a
    shared class after Fine / Coarse Crackle -> Crackle, Wheeze+Crackle -> both)."""
    from clinaudio_gui.metrics.events import map_events
    sets = [frozenset(x[2] for x in map_events([(0.0, 1.0, lab)])) for lab in EVENT_LABELS]
    return np.array([[(not a and not b) or bool(a & b) for b in sets] for a in sets])


def candidate_names(probs: np.ndarray, cands: np.ndarray, offsets: dict) -> np.ndarray:
    """The index in EVENT_LABELS that ``proposals.name_events`` gives each candidate."""
    p = np.asarray(probs, np.float64)[:, 1:]
    cs = np.vstack([np.zeros((1, p.shape[1])), np.cumsum(p, 0)])
    m = (cs[cands[:, 1]] - cs[cands[:, 0]]) / np.maximum(cands[:, 1] - cands[:, 0], 1)[:, None]
    return label_choice(m, np.array([offsets.get(x, 0.0) for x in EVENT_LABELS]))


def _candidate_rows(probs: list[np.ndarray], events: list, hop_s: float, base: DecoderParams | None = None,
                    seed: int = 0, class_offsets: dict | None = None, edges: list | None = None,
                    bags: int = 1, with_bags: bool = False):
    """Training rows: every positive candidate and up to 60 random negatives per recording. A
    positive lies within the evaluation's collars of an expert event; with ``class_offsets`` (the
    decoder's label offsets) it must also be named (``candidate_names``) so as to count for it.
    ``edges``: per recording, the edge head's activity (its features join). ``bags`` > 1: up to
    60 x bags negatives per recording, dealt in turn to the bags (disjoint), and with ``with_bags``
    a third array, each row's bag (-1 for a positive: in every bag). bags = 1 draws exactly the
    rows it always drew."""
    rng = np.random.default_rng(seed)
    compat = _compatible() if class_offsets is not None else None
    xs, ys, gs = [], [], []
    for j, (fp, ev) in enumerate(zip(probs, events)):
        b = _base(fp, base, hop_s)
        c = candidates(fp, hop_s, b)
        if len(c) == 0:
            continue
        if compat is None:
            y = match_targets(c, ev, hop_s)
        else:
            names = candidate_names(fp, c, class_offsets)
            y = np.zeros(len(c), bool)
            for e in ev:
                y |= match_targets(c, [e], hop_s) & compat[names, EVENT_LABELS.index(e[2])]
        pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
        if len(neg) > NEGATIVES_PER_RECORDING * bags:
            neg = rng.choice(neg, NEGATIVES_PER_RECORDING * bags, replace=False)
        k = np.concatenate([pos, neg])
        xs.append(all_features(fp, c[k], hop_s, b, None if edges is None else edges[j]))
        ys.append(y[k])
        gs.append(np.concatenate([np.full(len(pos), -1), np.arange(len(neg)) % bags]))
    if not xs:
        nf = n_proposal_features(len(EVENT_LABELS) + 1, base is not None, edges is not None)
        out = np.zeros((0, nf), np.float32), np.zeros(0, bool)
        return (*out, np.zeros(0, np.int64)) if with_bags else out
    out = np.concatenate(xs), np.concatenate(ys)
    return (*out, np.concatenate(gs)) if with_bags else out


def fit_scorers(x: np.ndarray, y: np.ndarray, bag: np.ndarray | None = None, bags: int = 1,
                seed: int = 0) -> dict:
    """The trees and the one-layer network on rows (x, y); with ``bags`` > 1 one of each per bag
    (its rows: the positives and that bag's negatives, seed + bag), merged into one scorer of each
    kind whose log-odds are the mean of the members' (ProposalScorer.merged, MLPScorer.merged)."""
    if bags <= 1 or bag is None:
        fitted = {"trees": ProposalScorer.fit(x, y, trees=TREES, depth=DEPTH, seed=seed),
                  "network": MLPScorer.fit(x, y, hidden=HIDDEN, seed=seed)}
    else:
        rows = [(bag < 0) | (bag == k) for k in range(bags)]
        fitted = {"trees": ProposalScorer.merged([ProposalScorer.fit(x[r], y[r], trees=TREES, depth=DEPTH,
                                                                     seed=seed + k) for k, r in enumerate(rows)]),
                  "network": MLPScorer.merged([MLPScorer.fit(x[r], y[r], hidden=HIDDEN, seed=seed + k)
                                               for k, r in enumerate(rows)])}
    fitted["trees+network"] = MeanScorer(fitted["trees"], fitted["network"])
    return fitted


def fit_proposal_decoder(net: DetectorNet, recs, tr_idx, tr_out, va_idx, va_out, t_frame: float,
                         base: DecoderParams, hop_s: float, log=print, seed: int = 0,
                         targets: tuple = TARGETS, tr_seqs=None, va_seqs=None,
                         search: ProposalSearch | None = None):
    """(network, decoder params, summary): the proposal decoder where validation prefers it over
    ``base``, else ``net`` and ``base`` unchanged (the summary says which and why). Two proposal
    decoders are tried: candidates from thresholds alone, and with ``base``'s own events joining
    them (``proposal_base``, the scorer seeing how a candidate relates to them). With the
    encoder sequences ``tr_seqs`` / ``va_seqs`` an edge head (edges.py) is fitted first and every
    scorer also sees its onset / offset activity (``proposal_edges``). ``search`` narrows the choices
    (ProposalSearch; without it, the full search over ``targets``). When ``base`` is itself a
    proposal decoder (a retune that keeps the manifest's decoder), the new one is compared with
    base's thresholding decoder, which it replaces."""
    from clinaudio_gui.metrics.events import event_metrics
    search = search if search is not None else ProposalSearch(targets=tuple(targets))
    tr_p = [S.softmax(fl / t_frame) for fl, _ in tr_out]
    va_p = [S.softmax(fl / t_frame) for fl, _ in va_out]
    tr_e = va_e = None
    edge_info = None
    net_in = net          # returned unchanged (without an edge head) when the decoder is not replaced
    if tr_seqs is not None and va_seqs is not None:
        from clinaudio_gui.engine.detector.edges import edge_probs, fit_edge_head
        net, edge_info = fit_edge_head(net, tr_seqs, tr_p, [recs[i].events for i in tr_idx], va_seqs, va_p,
                                       [recs[i].events for i in va_idx], hop_s, seed=seed, log=log)
        tr_e = [edge_probs(net, h, fp) for h, fp in zip(tr_seqs, tr_p)]
        va_e = [edge_probs(net, h, fp) for h, fp in zip(va_seqs, va_p)]
    ref = {recs[i].audio: list(recs[i].events) for i in va_idx}
    dur = {recs[i].audio: recs[i].duration_s for i in va_idx}

    def val_f(p: DecoderParams) -> float:
        est = {recs[i].audio: [(e["start_s"], e["end_s"], e["label"])
                               for e in decode(fp, EVENT_LABELS, hop_s, p, edges=None if va_e is None else va_e[j])]
               for j, (fp, i) in enumerate(zip(va_p, va_idx))}
        return float(event_metrics(ref, est, durations_s=dur)["event_based"]["micro"]["f"] or 0.0)

    def cached_f(scored, thr: float, offsets: dict) -> float:
        # decode()'s proposals mode on precomputed candidate scores (one scoring per scorer)
        est = {recs[i].audio: [(e["start_s"], e["end_s"], e["label"])
                               for e in name_events(fp, list(EVENT_LABELS), hop_s, select(c, sc, thr), offsets)]
               for (c, sc), fp, i in zip(scored, va_p, va_idx)}
        return float(event_metrics(ref, est, durations_s=dur)["event_based"]["micro"]["f"] or 0.0)

    thresholding = base if base.mode != "proposals" else (
        DecoderParams.from_dict(base.proposal_base) if base.proposal_base else None)
    if base.mode == "proposals" and thresholding is not None:
        base = thresholding          # the comparison is always with a thresholding decoder
        net_in = with_proposal_scorer(net_in)
    base_f = val_f(base)
    offsets = dict(base.label_offsets) if base.mode == "segments" else {}
    variants = {}
    if "thresholds" in search.variants:
        variants["thresholds"] = None
    if thresholding is not None and "thresholds+base" in search.variants:
        variants["thresholds+base"] = thresholding
    info = {"validation_event_f_thresholding": round(base_f, 4), "search": search.to_dict(), "variants": {}}
    if not variants:
        why = ("the candidate set thresholds+base needs a thresholding decoder, and the kept decoder holds none "
               "(retune without --keep-decoder)")
        log(f"  proposals: {why}; decoder kept")
        return net_in, base, {**info, "used": False, "why": why}
    if edge_info is not None:
        info["edge_head"] = edge_info
    best = None
    for name, b in variants.items():
        pb = b.to_dict() if b is not None else {}
        va_cf = []
        for j, fp in enumerate(va_p):
            bb = _base(fp, b, hop_s)
            c = candidates(fp, hop_s, bb)
            va_cf.append((c, all_features(fp, c, hop_s, bb, None if va_e is None else va_e[j])))
        for target in search.targets:
            key = name if target == "any" else f"{name}, class target"
            x, y, g = _candidate_rows(tr_p, [recs[i].events for i in tr_idx], hop_s, base=b, seed=seed,
                                      class_offsets=offsets if target == "class" else None, edges=tr_e,
                                      bags=search.bags, with_bags=True)
            if len(y) == 0 or y.all() or not y.any():
                info["variants"][key] = {"why": "no usable training candidates"}
                continue
            fitted = fit_scorers(x, y, g, search.bags, seed=seed)
            info["variants"][key] = {"fitted_on_rows": int(len(y)), "positive_fraction": round(float(y.mean()), 4)}
            for kind in search.scorers:
                scored = [(c, fitted[kind](xf) if len(c) else np.zeros(0)) for c, xf in va_cf]
                tried = {thr: cached_f(scored, thr, offsets) for thr in THRESHOLDS}
                thr, crit = choose_threshold(tried, search.threshold_rule)
                info["variants"][key][kind] = {"validation_event_f_by_threshold": {str(k): round(v, 4)
                                                                                   for k, v in tried.items()},
                                               "threshold": thr, "validation_event_f": round(tried[thr], 4)}
                if search.threshold_rule != "max":
                    info["variants"][key][kind]["criterion"] = round(crit, 4)
                log(f"  proposals ({key}, {kind}): validation event F {tried[thr]:.4f} at threshold {thr} "
                    f"(criterion {crit:.4f}; thresholding decoder {base_f:.4f})")
                if best is None or crit > best[-1]:
                    best = (tried[thr], name, target, kind, thr, pb, fitted, crit)
    if best is None:
        log("  proposals: no usable training candidates; decoder kept")
        return net_in, base, {**info, "used": False, "why": "no usable training candidates"}
    f, name, target, kind, thr, pb, fitted, _ = best
    info.update({"trees": TREES * search.bags, "depth": DEPTH, "hidden": HIDDEN * search.bags, "variant": name,
                 "target": target, "scorer": kind, "threshold": thr, "validation_event_f": round(f, 4)})
    if f <= base_f:
        return net_in, base, {**info, "used": False, "why": "validation prefers the thresholding decoder"}
    params = DecoderParams(mode="proposals", proposal_threshold=thr, min_duration_s=0.1, proposal_base=pb,
                           label_offsets=offsets, proposal_edges=tr_e is not None)
    net = with_proposal_scorer(net, trees=fitted["trees"] if "trees" in kind else None,
                               mlp=fitted["network"] if "network" in kind else None)
    params = decoder_params(net, params.to_dict())
    check = val_f(params)          # the packaged decoder, run as decode() runs it
    info["validation_event_f_packaged"] = round(check, 4)
    if abs(check - f) > 1e-9:
        raise RuntimeError(f"packaged proposal decoder gives validation event F {check} where the search gave {f}")
    return net, params, {**info, "used": True}
