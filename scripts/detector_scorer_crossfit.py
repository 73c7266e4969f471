"""Where should the proposal scorer learn from? On one fold package's INNER-VALIDATION patients only
(test patients are never loaded), compare scorers fitted on

- ``train``: the training patients' candidates (what detect-train does: the network has seen those
  patients, so its probabilities there are sharper than on new patients);
- ``val``: the other half of the inner-validation patients (two halves by patient, cross-fitted:
  each half is scored by the scorer fitted on the other half);
- ``train+val``: both, the validation half's rows repeated ``--val-weight`` times;

all with the fixed design "thresholds+base" candidates, "class" target, mean of trees and network.
The out-of-fold event F (sed_eval, the evaluation's protocol) over the whole inner validation is
printed per score threshold, with its maximum and its smoothed maximum (proposal_fit.choose_threshold),
on a grid widened below detect-train's (0.1 ... 0.4 added: a scorer fitted on new patients' candidates,
where fewer candidates match, gives lower scores).

    .venv/bin/python scripts/detector_scorer_crossfit.py runs/det_cv18/fold1 [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from clinaudio_gui.engine.common.data import EVENT_LABELS
from clinaudio_gui.engine.detector import data as D
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.decode import DecoderParams
from clinaudio_gui.engine.detector.edges import edge_probs
from clinaudio_gui.engine.detector.proposal_fit import (DEPTH, HIDDEN, THRESHOLDS, TREES, _base, _candidate_rows,
                                                        choose_threshold)
from clinaudio_gui.engine.detector.proposals import (MeanScorer, MLPScorer, ProposalScorer, all_features, candidates,
                                                     name_events, select)
from clinaudio_gui.engine.detector.train import _load_net, predict
from clinaudio_gui.metrics.events import event_metrics


GRID = (0.1, 0.2, 0.3, 0.4) + tuple(THRESHOLDS)


def halves(patients: list[str], recs, idx, seed: int) -> dict[str, int]:
    """Patient -> half (0 / 1), balanced in adventitious events: patients sorted by their count,
    alternately assigned, in a random order within equal counts."""
    rng = np.random.default_rng(seed)
    adv = {p: 0 for p in patients}
    for i in idx:
        adv[recs[i].patient] += sum(1 for e in recs[i].events if e[2] != "Normal")
    order = sorted(patients, key=lambda p: (-adv[p], rng.random()))
    return {p: j % 2 for j, p in enumerate(order)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("fold_dir")
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    ap.add_argument("--cache", default="runs/cache")
    ap.add_argument("--val-weight", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    net, m = _load_net(Path(a.fold_dir))
    if not hasattr(net, "edge_head"):
        print(f"{a.fold_dir}: the package has no edge head", file=sys.stderr)
        return 2
    recs = D.scan_recordings(a.data)
    test_p, val_p = set(m["split"]["test_patients"]), set(m["split"]["inner_val_patients"])
    keep = [i for i, r in enumerate(recs) if r.patient not in test_p]       # test patients never loaded
    recs_k = [recs[i] for i in keep]
    D.load_features(recs_k, cache_dir=a.cache)
    recs = recs_k
    va_idx = np.array([i for i, r in enumerate(recs) if r.patient in val_p])
    tr_idx = np.array([i for i, r in enumerate(recs) if r.patient not in val_p])
    hop_s = D.detector_settings().hop_s
    t_frame = m["calibration"]["t_frame"]
    if not (m.get("decoder") or {}).get("proposal_base"):
        print(f"{a.fold_dir}: its decoder keeps no thresholding decoder (proposal_base): the candidate set "
              "thresholds+base cannot be built; retune it first", file=sys.stderr)
        return 2
    base = DecoderParams.from_dict(m["decoder"]["proposal_base"])

    def outputs(idx):
        seqs: list = []
        out = predict(net, recs, idx, seqs=seqs)
        p = [S.softmax(fl / t_frame) for fl, _ in out]
        return p, [edge_probs(net, h, fp) for h, fp in zip(seqs, p)]

    tr_p, tr_e = outputs(tr_idx)
    va_p, va_e = outputs(va_idx)
    offsets = dict(base.label_offsets) if base.mode == "segments" else {}    # as fit_proposal_decoder
    half_of = halves(sorted(val_p), recs, va_idx, a.seed)
    va_half = np.array([half_of[recs[i].patient] for i in va_idx])
    n_adv = [int(sum(1 for i in va_idx[va_half == h] for e in recs[i].events if e[2] != "Normal")) for h in (0, 1)]
    print(f"{a.fold_dir}: {len(tr_idx)} training recordings, {len(va_idx)} inner-validation recordings "
          f"(halves: {int((va_half == 0).sum())} / {int((va_half == 1).sum())}, adventitious events {n_adv})",
          flush=True)

    def rows(p, e, idx):
        return _candidate_rows(p, [recs[i].events for i in idx], hop_s, base=base, seed=a.seed,
                               class_offsets=offsets, edges=e)

    def fit(x, y):
        t = ProposalScorer.fit(x, y, trees=TREES, depth=DEPTH, seed=a.seed)
        return MeanScorer(t, MLPScorer.fit(x, y, hidden=HIDDEN, seed=a.seed))

    x_tr, y_tr = rows(tr_p, tr_e, tr_idx)
    va_rows = []
    for h in (0, 1):
        sel = np.flatnonzero(va_half == h)
        va_rows.append(rows([va_p[j] for j in sel], [va_e[j] for j in sel], va_idx[sel]))
    va_cf = []
    for j, fp in enumerate(va_p):
        bb = _base(fp, base, hop_s)
        c = candidates(fp, hop_s, bb)
        va_cf.append((c, all_features(fp, c, hop_s, bb, va_e[j])))
    scorers = {"train": [fit(x_tr, y_tr)] * 2}
    w = a.val_weight
    scorers["val"] = [fit(*va_rows[1 - h]) for h in (0, 1)]
    scorers["train+val"] = [fit(np.concatenate([x_tr] + [va_rows[1 - h][0]] * w),
                                np.concatenate([y_tr] + [va_rows[1 - h][1]] * w)) for h in (0, 1)]
    ref = {recs[i].audio: list(recs[i].events) for i in va_idx}
    dur = {recs[i].audio: recs[i].duration_s for i in va_idx}
    result = {"fold_dir": a.fold_dir, "n_val_recordings": int(len(va_idx)), "adventitious_by_half": n_adv,
              "rows_train": int(len(y_tr)), "rows_val_halves": [int(len(r[1])) for r in va_rows], "sources": {}}
    for name, pair in scorers.items():
        scored = [(c, pair[va_half[j]](xf) if len(c) else np.zeros(0)) for j, (c, xf) in enumerate(va_cf)]
        tried = {}
        for thr in GRID:
            est = {recs[i].audio: [(e["start_s"], e["end_s"], e["label"])
                                   for e in name_events(fp, list(EVENT_LABELS), hop_s, select(c, sc, thr), offsets)]
                   for (c, sc), fp, i in zip(scored, va_p, va_idx)}
            tried[thr] = float(event_metrics(ref, est, durations_s=dur)["event_based"]["micro"]["f"] or 0.0)
        t_max, f_max = choose_threshold(tried, "max")
        t_sm, c_sm = choose_threshold(tried, "smoothed")
        result["sources"][name] = {"f_by_threshold": {str(k): round(v, 4) for k, v in tried.items()},
                                   "max": [t_max, round(f_max, 4)], "smoothed": [t_sm, round(tried[t_sm], 4)],
                                   "smoothed_criterion": round(c_sm, 4)}
        print(f"  {name:10s} max F {f_max:.4f} at {t_max}; smoothed {tried[t_sm]:.4f} at {t_sm} "
              f"(criterion {c_sm:.4f}); by threshold "
              + " ".join(f"{v:.3f}" for v in tried.values()), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
