"""Would an onset / offset ("edge") head help the proposal decoder? (docs/models.md, "Edge head")

On a detector package's inner-validation patients only (its test patients are not touched):
a small temporal network is fitted on the **training** patients' frozen encoder sequences
(``predict(..., seqs=...)``, 32 ms) to give, per frame, P(an expert event starts here) and
P(an expert event ends here) (any class, Normal cycles too; Gaussian targets, sigma 64 ms).
Then the proposal scorer (trees / one-layer network / mean, as the package's decoder) is fitted
on the training patients' candidates three ways, and each is scored on the validation patients
by sed_eval event F at its best selection threshold:

A. the package's proposal features (as bundled);
B. A + edge features (onset / offset probability at and around each candidate edge, the
   largest onset / offset probability strictly inside it);
C. B + candidates made from edge peaks (each onset peak paired with the next offset peaks).

    .venv/bin/python scripts/detector_edge_analysis.py [--model models/detector-sprsound]

About 5 minutes on 2 cores (features from runs/cache). This is the experiment as it was run
before ``engine/detector/edges.py`` existed: it keeps its own copies of the pieces that module then
took over (the head, its targets and training loop, the edge features), so that its figures stay
reproducible; the package's version is tested in tests/detector/test_edges.py.
"""
import argparse
import time

import numpy as np
import torch
from torch import nn

from clinaudio_gui.engine.common.data import EVENT_LABELS
from clinaudio_gui.engine.detector import data as D
from clinaudio_gui.engine.detector import proposals as P
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.decode import DecoderParams
from clinaudio_gui.engine.detector.finetune import load_net
from clinaudio_gui.engine.detector.proposal_fit import _base
from clinaudio_gui.engine.detector.train import predict
from clinaudio_gui.metrics.events import event_metrics

TAUS = (0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
SEQ_HOP = 2          # sequence frames are 2 detector frames (32 ms)
SIGMA = 2.0          # target width, sequence frames


def edge_targets(events, n: int, hop_s: float) -> np.ndarray:
    t = np.arange(n)[:, None]
    y = np.zeros((n, 2), np.float32)
    for s, e, *_ in events:
        for j, x in enumerate((s, e)):
            c = x / (hop_s * SEQ_HOP)
            y[:, j] = np.maximum(y[:, j], np.exp(-0.5 * ((t[:, 0] - c) / SIGMA) ** 2))
    return y


class EdgeNet(nn.Module):
    def __init__(self, d_in: int, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(d_in, width, 5, padding=2), nn.ReLU(),
            nn.Conv1d(width, width, 5, padding=4, dilation=2), nn.ReLU(),
            nn.Conv1d(width, width, 5, padding=8, dilation=4), nn.ReLU(),
            nn.Conv1d(width, 2, 1))

    def forward(self, x):          # (B, T, d) -> (B, T, 2) logits
        return self.net(x.transpose(1, 2)).transpose(1, 2)


def edge_inputs(seq, fp):
    """Sequence (T', d) plus the frame probabilities averaged onto the 32 ms grid."""
    n = len(seq)
    f = fp[: 2 * n]
    if len(f) < 2 * n:
        f = np.vstack([f, np.repeat(f[-1:], 2 * n - len(f), 0)])
    return np.concatenate([seq, f.reshape(n, 2, -1).mean(1)], axis=1).astype(np.float32)


def fit_edges(xs, ys, xv, yv, epochs=30, seed=0, log=print):
    torch.manual_seed(seed)
    mu = np.concatenate(xs).mean(0)
    sd = np.concatenate(xs).std(0) + 1e-6
    net = EdgeNet(xs[0].shape[1])
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-3)
    rng = np.random.default_rng(seed)
    lossf = nn.BCEWithLogitsLoss()

    def batch(X, Y, ids):
        T = max(len(X[i]) for i in ids)
        xb = np.zeros((len(ids), T, X[0].shape[1]), np.float32)
        yb = np.zeros((len(ids), T, 2), np.float32)
        mb = np.zeros((len(ids), T, 1), np.float32)
        for k, i in enumerate(ids):
            xb[k, :len(X[i])] = (X[i] - mu) / sd
            yb[k, :len(X[i])] = Y[i]
            mb[k, :len(X[i])] = 1
        return torch.from_numpy(xb), torch.from_numpy(yb), torch.from_numpy(mb)

    def vloss():
        net.eval()
        with torch.no_grad():
            tot = 0.0
            for s in range(0, len(xv), 32):
                xb, yb, mb = batch(xv, yv, list(range(s, min(len(xv), s + 32))))
                lg = net(xb)
                tot += float((nn.functional.binary_cross_entropy_with_logits(lg, yb, reduction="none") * mb).sum())
        net.train()
        return tot / sum(len(x) for x in xv)

    best, state = 1e9, None
    for ep in range(epochs):
        order = rng.permutation(len(xs))
        for s in range(0, len(order), 16):
            xb, yb, mb = batch(xs, ys, order[s:s + 16])
            lg = net(xb)
            loss = (nn.functional.binary_cross_entropy_with_logits(lg, yb, reduction="none") * mb).sum() / mb.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        v = vloss()
        if v < best:
            best, state = v, {k: t.clone() for k, t in net.state_dict().items()}
        log(f"  edge epoch {ep + 1}: validation BCE {v:.4f}")
    del lossf
    net.load_state_dict(state)
    net.eval()

    def run(x):
        with torch.no_grad():
            return torch.sigmoid(net(torch.from_numpy((x - mu) / sd)[None].float()))[0].numpy()
    return run


def upsample(e32, n):
    e = np.repeat(e32, SEQ_HOP, axis=0)[:n]
    if len(e) < n:
        e = np.vstack([e, np.repeat(e[-1:], n - len(e), 0)])
    return e


def edge_features(edges, cands, hop_s):
    n = len(edges)
    a, b = cands[:, 0], np.maximum(cands[:, 1] - 1, 0)
    on, off = edges[:, 0], edges[:, 1]
    out = []
    w1, w2 = int(round(0.1 / hop_s)), int(round(0.2 / hop_s))

    def win_max(x, at, w):
        # max over [at - w, at + w] via a sliding maximum
        from scipy.ndimage import maximum_filter1d
        return maximum_filter1d(x, 2 * w + 1, mode="nearest")[np.clip(at, 0, n - 1)]

    for x, at in ((on, a), (off, b)):
        out += [x[np.clip(at, 0, n - 1)], win_max(x, at, w1), win_max(x, at, w2)]
    # strongest onset / offset strictly inside (beyond the collar): a merged neighbour's edge
    for x in (on, off):
        cs = x
        inner = np.zeros(len(cands))
        from scipy.ndimage import maximum_filter1d
        for j, (s, e) in enumerate(zip(a + w2, b - w2)):
            inner[j] = cs[s:e].max() if e > s else 0.0
        out.append(inner)
    return np.column_stack(out).astype(np.float32)


def edge_candidates(edges, hop_s, n):
    from scipy.signal import find_peaks
    ons, _ = find_peaks(np.concatenate([[0], edges[:, 0], [0]]), height=0.15, distance=int(0.15 / hop_s))
    offs, _ = find_peaks(np.concatenate([[0], edges[:, 1], [0]]), height=0.15, distance=int(0.15 / hop_s))
    ons, offs = ons - 1, offs - 1
    out = []
    for s in ons:
        nxt = offs[(offs > s + int(0.1 / hop_s)) & (offs < s + int(8 / hop_s))][:3]
        out += [(int(s), int(min(e + 1, n))) for e in nxt]
    return np.array(out, np.int64).reshape(-1, 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/detector-sprsound")
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--inputs", choices=("seq", "probs"), default="seq",
                    help="the edge head's inputs: encoder sequence + frame probabilities, or frame probabilities only")
    ap.add_argument("--variants", default="ABC")
    args = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.time()
    net, m = load_net(args.model)
    recs = D.scan_recordings(args.data)
    D.load_features(recs, cache_dir="runs/cache")
    hop, tf = D.detector_settings().hop_s, m["calibration"]["t_frame"]
    te, va = set(m["split"]["test_patients"]), set(m["split"]["inner_val_patients"])
    tr_idx = [i for i, r in enumerate(recs) if r.patient not in te and r.patient not in va]
    va_idx = [i for i, r in enumerate(recs) if r.patient in va]
    dec = dict(m["decoder"])
    base = DecoderParams.from_dict(dec["proposal_base"]) if dec.get("proposal_base") else None
    offsets = dec.get("label_offsets", {})
    va_seqs, tr_seqs = [], []
    va_out = predict(net, recs, va_idx, seqs=va_seqs)
    tr_out = predict(net, recs, tr_idx, seqs=tr_seqs)
    va_p = [S.softmax(fl / tf) for fl, _ in va_out]
    tr_p = [S.softmax(fl / tf) for fl, _ in tr_out]
    print(f"outputs {time.time() - t0:.0f} s; {len(tr_idx)} training / {len(va_idx)} validation recordings")
    if args.inputs == "probs":
        tr_seqs = [h[:, :0] for h in tr_seqs]
        va_seqs = [h[:, :0] for h in va_seqs]
    xs = [edge_inputs(h, fp) for h, fp in zip(tr_seqs, tr_p)]
    ys = [edge_targets(recs[i].events, len(h), hop) for h, i in zip(tr_seqs, tr_idx)]
    xv = [edge_inputs(h, fp) for h, fp in zip(va_seqs, va_p)]
    yv = [edge_targets(recs[i].events, len(h), hop) for h, i in zip(va_seqs, va_idx)]
    run = fit_edges(xs, ys, xv, yv, epochs=args.epochs)
    tr_e = [upsample(run(x), len(fp)) for x, fp in zip(xs, tr_p)]
    va_e = [upsample(run(x), len(fp)) for x, fp in zip(xv, va_p)]
    print(f"edge head fitted {time.time() - t0:.0f} s")

    ref = {recs[i].audio: list(recs[i].events) for i in va_idx}
    dur = {recs[i].audio: recs[i].duration_s for i in va_idx}

    def f_of(est):
        return event_metrics(ref, est, durations_s=dur)["event_based"]["micro"]["f"] or 0.0

    def cands(fp, e, variant):
        b = _base(fp, base, hop)
        c = P.candidates(fp, hop, b)
        if variant == "C":
            c = np.unique(np.vstack([c, edge_candidates(e, hop, len(fp))]), axis=0)
        return c, b

    def feats(fp, e, c, b, variant):
        x = P.all_features(fp, c, hop, b)
        return x if variant == "A" else np.concatenate([x, edge_features(e, c, hop)], axis=1)

    from sklearn.ensemble import HistGradientBoostingClassifier

    from clinaudio_gui.engine.detector.proposals import MLPScorer
    cover = {}
    for variant in args.variants:
        rng = np.random.default_rng(0)
        X, Y = [], []
        for fp, e, i in zip(tr_p, tr_e, tr_idx):
            c, b = cands(fp, e, variant)
            if not len(c):
                continue
            y = P.match_targets(c, recs[i].events, hop)
            pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
            if len(neg) > 60:
                neg = rng.choice(neg, 60, replace=False)
            k = np.concatenate([pos, neg])
            X.append(feats(fp, e, c[k], b, variant))
            Y.append(y[k])
        X, Y = np.concatenate(X), np.concatenate(Y)
        trees = HistGradientBoostingClassifier(max_depth=4, max_iter=100, random_state=0).fit(X, Y)
        mlp = MLPScorer.fit(X, Y)
        vc = [cands(fp, e, variant) for fp, e in zip(va_p, va_e)]
        hit = tot = 0
        for (c, _), i in zip(vc, va_idx):
            for s, en, lab in recs[i].events:
                if lab != "Normal":
                    tot += 1
                    hit += bool(len(c) and P.match_targets(c, [(s, en, lab)], hop).any())
        cover[variant] = (hit, tot, np.mean([len(c) for c, _ in vc]))
        vx = [feats(fp, e, c, b, variant) if len(c) else None for fp, e, (c, b) in zip(va_p, va_e, vc)]
        st = [trees.predict_proba(x)[:, 1] if x is not None else np.zeros(0) for x in vx]
        sm = [mlp(x) if x is not None else np.zeros(0) for x in vx]
        for name, sc in (("trees", st), ("network", sm), ("mean", [(a + b) / 2 for a, b in zip(st, sm)])):
            res = {}
            for tau in TAUS:
                est = {}
                for fp, (c, _), s, i in zip(va_p, vc, sc, va_idx):
                    keep = P.select(c, s, tau) if len(c) else []
                    est[recs[i].audio] = [(e["start_s"], e["end_s"], e["label"])
                                          for e in P.name_events(fp, list(EVENT_LABELS), hop, keep, offsets)]
                res[tau] = f_of(est)
            tau = max(res, key=res.get)
            print(f"{variant} {name}: validation event F {res[tau]:.3f} (threshold {tau}); "
                  f"coverage {cover[variant][0]}/{cover[variant][1]}, {cover[variant][2]:.0f} candidates/rec",
                  flush=True)
    print(f"done {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
