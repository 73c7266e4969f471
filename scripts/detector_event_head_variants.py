"""Which inputs the event head should get, chosen on INNER-VALIDATION patients only: for every
fold package of RUN, fit the head (logistic regression on the training patients' expert events)
with several feature sets and C values, and print the validation criterion (mean 1-1 / 1-2 Score,
offsets fitted on validation, as `detect-train --retune --event-head` does) beside the test Scores.
The variant with the best mean validation criterion over the folds is the one to use; the test
columns are reported, never used to choose.

    .venv/bin/python scripts/detector_event_head_variants.py runs/det_cv3 > runs/event_head_variants.txt
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

from clinaudio_gui.engine.common.data import EVENT_LABELS
from clinaudio_gui.engine.detector import data as D
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.segments import EventHead, segment_features
from clinaudio_gui.engine.detector.event_fit import _arr, _event_task_offsets
from clinaudio_gui.engine.detector.train import _load_net

torch.set_num_threads(2)
HOP = D.detector_settings().hop_s
run = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/det_cv3")
recs = D.scan_recordings("../shared/data/sprsound/train")
D.load_features(recs, cache_dir="runs/cache")


@torch.no_grad()
def outputs(net, i):
    x = torch.from_numpy(recs[i].features.astype(np.float32))[None]
    h, hs, _ = net.encode(x)
    f = net._up(net.frame_head(h), x.shape[-1])
    s = torch.softmax(net.pool_score(h).squeeze(-1), dim=1)
    emb = torch.cat([(s.unsqueeze(-1) * h).sum(1), h.amax(1)], 1)
    return f[0].numpy(), net.record_head(emb)[0].numpy(), h[0].numpy(), [b[0].numpy() for b in hs]


def feats(o, events, cal, kind):
    fl, rl, h, hs = o
    fp = S.softmax(fl / cal["t_frame"])
    x = segment_features(h, 2 * HOP, fp, HOP, events)
    parts = [x]
    if "rec" in kind:
        parts.append(np.repeat(S.softmax(rl / cal["t_record"])[None], len(events), 0))
    if "br" in kind:
        for b in hs:
            pb = segment_features(b, 2 * HOP, fp, HOP, events)[:, :2 * b.shape[1]]   # mean, max
            parts.append(pb)
    return np.concatenate(parts, 1).astype(np.float32)


KINDS = ["base", "rec", "br", "rec+br"]
CS = [0.01, 0.03]
table = {}
for fdir in sorted(run.glob("fold*/manifest.json")):
    fdir = fdir.parent
    k = fdir.name
    net, m = _load_net(fdir)
    cal = m["calibration"]
    test_p, val_p = set(m["split"]["test_patients"]), set(m["split"]["inner_val_patients"])
    parts = {"tr": [], "va": [], "te": []}
    for i, r in enumerate(recs):
        if not r.events:
            continue
        part = "te" if r.patient in test_p else "va" if r.patient in val_p else "tr"
        parts[part].append(i)
    outs = {i: outputs(net, i) for p in parts.values() for i in p}
    for kind in KINDS:
        X = {p: np.concatenate([feats(outs[i], recs[i].events, cal, kind) for i in idx]) for p, idx in parts.items()}
        Y = {p: [e[2] for i in idx for e in recs[i].events] for p, idx in parts.items()}
        for C in CS:
            head = EventHead(X["tr"].shape[1], len(EVENT_LABELS))
            head.fit(X["tr"], Y["tr"], list(EVENT_LABELS), C=C)
            zv = head.logits(X["va"])
            t = S.fit_temperature(zv, np.array([EVENT_LABELS.index(y) for y in Y["va"]]))
            pv, pt = S.softmax(zv / t), S.softmax(head.logits(X["te"]) / t)
            off = _event_task_offsets(Y["va"], pv)
            val = float(np.mean([S.task_metrics(Y["va"], pv, tk, _arr(off[tk]))["score"] for tk in ("1-1", "1-2")]))
            te = {tk: S.task_metrics(Y["te"], pt, tk, _arr(off[tk]))["score"] for tk in ("1-1", "1-2")}
            table.setdefault(f"{kind} C={C}", {})[k] = {"val": val, **te}
            print(f"{k} {kind:7s} C={C}: validation {val:.4f} | test 1-1 {te['1-1']:.4f} 1-2 {te['1-2']:.4f}", flush=True)
print("\nmean over folds (choose by validation):")
for v, rows in table.items():
    a = np.array([[r["val"], r["1-1"], r["1-2"]] for r in rows.values()])
    print(f"{v:18s} validation {a[:, 0].mean():.4f} | test 1-1 {a[:, 1].mean():.4f} +- {a[:, 1].std():.4f} "
          f"1-2 {a[:, 2].mean():.4f} +- {a[:, 2].std():.4f} ({len(a)} folds)")
print(json.dumps(table))
