"""The figures behind the proposal decoder (docs/models.md, "Proposal decoder"), on a detector
package's inner-validation patients:

1. what the package's thresholding decoder does with the experts' adventitious events (none
   over them, merged, split, an edge outside the collar, both edges inside);
2. how many of them lie within the collar of some proposal candidate;
3. event F of proposal scorers fitted on the training patients (the bundled trees, deeper trees,
   a one-layer network, the trees with encoder-sequence features at the edges, trees fitted on
   validation patients by cross-fitting, kept events renamed by the event head), each at its
   best selection threshold;
4. with ``--wheeze-crackle``: per-recording event F of the package on its held-out patients'
   recordings with both wheezes and crackles (the README screenshot's figures); with
   ``--only-wheeze-crackle`` just that (a few seconds; 1-3 need a package that keeps its
   thresholding decoder, e.g. runs/det_cv10/fold0, the session-6 bundle).

    .venv/bin/python scripts/detector_proposal_analysis.py [--model runs/det_cv10/fold0] [--wheeze-crackle]
    .venv/bin/python scripts/detector_proposal_analysis.py --only-wheeze-crackle [--model models/detector-sprsound]

About 8 minutes on 2 cores (features from runs/cache).
"""
import argparse

import numpy as np
import torch

from clinaudio_gui.engine.common.data import EVENT_LABELS
from clinaudio_gui.engine.detector import data as D
from clinaudio_gui.engine.detector import proposals as P
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.decode import DecoderParams, decode
from clinaudio_gui.engine.detector.event_fit import event_probs
from clinaudio_gui.engine.detector.finetune import load_net
from clinaudio_gui.engine.detector.train import predict
from clinaudio_gui.metrics.events import event_metrics

TAUS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def breakdown(recs, idx, probs, dec, hop):
    cnt = {}
    for fp, i in zip(probs, idx):
        est = decode(fp, EVENT_LABELS, hop, dec)
        for s, e, lab in recs[i].events:
            if lab == "Normal":
                continue
            ov = [x for x in est if x["start_s"] < e and x["end_s"] > s]
            if not ov:
                k = "no detection over it"
            elif len(ov) > 1:
                k = "split into several detections"
            else:
                b = ov[0]
                n_exp = sum(1 for a2, b2, _ in recs[i].events if a2 < b["end_s"] and b2 > b["start_s"])
                ok = abs(b["start_s"] - s) <= 0.2 and abs(b["end_s"] - e) <= max(0.2, 0.2 * (e - s))
                k = "merged with a neighbour" if n_exp > 1 else "both edges inside the collar" if ok \
                    else "an edge outside the collar"
            cnt[k] = cnt.get(k, 0) + 1
    return cnt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/detector-sprsound")
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    ap.add_argument("--wheeze-crackle", action="store_true")
    ap.add_argument("--only-wheeze-crackle", action="store_true")
    args = ap.parse_args()
    if args.only_wheeze_crackle:
        return wheeze_crackle(args.model, D.scan_recordings(args.data))
    torch.set_num_threads(2)
    net, m = load_net(args.model)
    recs = D.scan_recordings(args.data)
    D.load_features(recs, cache_dir="runs/cache")
    hop, tf, cal = D.detector_settings().hop_s, m["calibration"]["t_frame"], m["calibration"]
    te, va = set(m["split"]["test_patients"]), set(m["split"]["inner_val_patients"])
    tr_idx = [i for i, r in enumerate(recs) if r.patient not in te and r.patient not in va]
    va_idx = [i for i, r in enumerate(recs) if r.patient in va]
    dec = dict(m["decoder"])
    thr = DecoderParams.from_dict(dec["proposal_base"] if dec.get("mode") == "proposals" else dec)
    if thr.mode == "proposals" or (dec.get("mode") == "proposals" and not dec.get("proposal_base")):
        raise SystemExit("the package keeps no thresholding decoder to compare with")
    va_seqs: list = []
    va_out = predict(net, recs, va_idx, seqs=va_seqs)
    tr_seqs: list = []
    tr_out = predict(net, recs, tr_idx, seqs=tr_seqs)
    va_p = [S.softmax(fl / tf) for fl, _ in va_out]
    tr_p = [S.softmax(fl / tf) for fl, _ in tr_out]
    ref = {recs[i].audio: list(recs[i].events) for i in va_idx}
    dur = {recs[i].audio: recs[i].duration_s for i in va_idx}

    def f_of(est):
        return event_metrics(ref, est, durations_s=dur)["event_based"]["micro"]["f"] or 0.0

    cnt = breakdown(recs, va_idx, va_p, thr, hop)
    print(f"{len(va_idx)} validation recordings; expert adventitious events {sum(cnt.values())}: {cnt}")
    print(f"thresholding decoder: event F {f_of({recs[i].audio: [(e['start_s'], e['end_s'], e['label']) for e in decode(fp, EVENT_LABELS, hop, thr)] for fp, i in zip(va_p, va_idx)}):.3f}")
    va_c = [P.candidates(fp, hop) for fp in va_p]
    hit = tot = 0
    for c, i in zip(va_c, va_idx):
        for s, e, lab in recs[i].events:
            if lab != "Normal":
                tot += 1
                hit += bool(P.match_targets(c, [(s, e, lab)], hop).any())
    print(f"within the collar of some candidate: {hit} / {tot} ({hit / max(tot, 1):.0%}); "
          f"{np.mean([len(c) for c in va_c]):.0f} candidates per recording")

    pca = None

    def feats(fp, c, seq, with_seq):
        x = P.proposal_features(fp, c, hop)
        if not with_seq or len(c) == 0:
            return x if not with_seq else np.zeros((0, x.shape[1] + 48), np.float32)
        z = pca.transform(seq[:, :2 * net.cfg.rnn_hidden].astype(np.float32))
        n = len(z)
        a = np.minimum(c[:, 0] // 2, n - 1)
        b = np.minimum(np.maximum(c[:, 1] // 2 - 1, 0), n - 1)
        return np.column_stack([x, z[a], z[b], z[np.minimum(b + 4, n - 1)]]).astype(np.float32)

    def rows(ids, probs, seqs, with_seq, seed=0):
        rng = np.random.default_rng(seed)
        xs, ys = [], []
        for fp, h, i in zip(probs, seqs, ids):
            c = P.candidates(fp, hop)
            if not len(c):
                continue
            y = P.match_targets(c, recs[i].events, hop)
            pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
            if len(neg) > 60:
                neg = rng.choice(neg, 60, replace=False)
            k = np.concatenate([pos, neg])
            xs.append(feats(fp, c[k], h, with_seq))
            ys.append(y[k])
        return np.concatenate(xs), np.concatenate(ys)

    def best_f(scores, rename=False):
        out = {}
        for tau in TAUS:
            est = {}
            for fp, c, sc, h, (_, rl), i in zip(va_p, va_c, scores, va_seqs, va_out, va_idx):
                evs = [(a * hop, b * hop, EVENT_LABELS[int(np.argmax(fp[a:b, 1:].mean(0)))])
                       for a, b in P.select(c, sc, tau)]
                if rename and evs:
                    pr = event_probs(net, cal, fp, S.softmax(rl / cal["t_record"]), h, evs, hop)
                    evs = [(a, b, EVENT_LABELS[int(np.argmax(q))]) for (a, b, _), q in zip(evs, pr)]
                est[recs[i].audio] = evs
            out[tau] = f_of(est)
        tau = max(out, key=out.get)
        return out[tau], tau

    from sklearn.decomposition import PCA
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    pca = PCA(16, random_state=0).fit(np.concatenate([h[:, :2 * net.cfg.rnn_hidden] for h in tr_seqs[::5]]))

    def proba(model, with_seq):
        return [model.predict_proba(feats(fp, c, h, with_seq))[:, 1] if len(c) else np.zeros(0)
                for fp, c, h in zip(va_p, va_c, va_seqs)]

    x, y = rows(tr_idx, tr_p, tr_seqs, False)
    bundled = HistGradientBoostingClassifier(max_depth=4, max_iter=100, random_state=0).fit(x, y)
    variants = {
        "trees, depth 4, 100 (bundled)": (bundled, False, False),
        "trees, default depth, 300": (HistGradientBoostingClassifier(max_iter=300, random_state=0).fit(x, y),
                                      False, False),
        "one-layer network (64)": (make_pipeline(StandardScaler(), MLPClassifier(
            (64,), alpha=1e-3, max_iter=60, random_state=0)).fit(x, y), False, False),
        "bundled trees, kept events renamed by the event head": (bundled, False, True),
    }
    xq, yq = rows(tr_idx, tr_p, tr_seqs, True)
    variants["trees + encoder sequence at the edges"] = (
        HistGradientBoostingClassifier(max_depth=4, max_iter=100, random_state=0).fit(xq, yq), True, False)
    for name, (model, with_seq, rename) in variants.items():
        f, tau = best_f(proba(model, with_seq), rename)
        print(f"{name}: validation event F {f:.3f} (threshold {tau})")
    # fitted on the validation patients themselves, scored out of fold (5 folds by patient)
    pats = sorted(va)
    scores = [None] * len(va_idx)
    for k in range(5):
        hold = set(pats[k::5])
        fit = [j for j, i in enumerate(va_idx) if recs[i].patient not in hold]
        ev = [j for j, i in enumerate(va_idx) if recs[i].patient in hold]
        xv, yv = rows([va_idx[j] for j in fit], [va_p[j] for j in fit], [va_seqs[j] for j in fit], False)
        mdl = HistGradientBoostingClassifier(max_depth=4, max_iter=100, random_state=0).fit(xv, yv)
        for j in ev:
            scores[j] = mdl.predict_proba(P.proposal_features(va_p[j], va_c[j], hop))[:, 1] \
                if len(va_c[j]) else np.zeros(0)
    f, tau = best_f(scores)
    print(f"trees fitted on validation patients (5-fold cross-fitting): validation event F {f:.3f} (threshold {tau})")

    if args.wheeze_crackle:
        wheeze_crackle(args.model, recs)


def wheeze_crackle(model: str, recs) -> None:
    import json
    from pathlib import Path

    from clinaudio_gui.engine.detector.infer import load_detector
    te = set(json.loads((Path(model) / "manifest.json").read_text())["split"]["test_patients"])
    det = load_detector(model)
    fs = []
    for r in recs:
        labs = {e[2] for e in r.events}
        if r.patient in te and {"Wheeze", "Wheeze+Crackle"} & labs and \
                {"Fine Crackle", "Coarse Crackle", "Wheeze+Crackle"} & labs:
            est = [(e["start_s"], e["end_s"], e["label"]) for e in det.detect_file(r.audio)["events"]]
            f = event_metrics({r.audio: list(r.events)}, {r.audio: est},
                              durations_s={r.audio: r.duration_s})["event_based"]["micro"]["f"] or 0.0
            fs.append((round(f, 3), r.audio))
    print(f"held-out recordings with wheezes and crackles: {len(fs)}, mean event F "
          f"{np.mean([f for f, _ in fs]):.3f}")
    for f, a in sorted(fs, reverse=True):
        print(f"  {f:.3f} {a}")

if __name__ == "__main__":
    main()
