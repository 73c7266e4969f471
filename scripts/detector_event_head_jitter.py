"""Boundary jitter for the event head (tasks 1-1 / 1-2), chosen per fold on INNER-VALIDATION
patients only.

The event head is a logistic regression on features pooled over an expert event, fitted on the
training patients' ~4,500 events (segments.py, event_fit.py). Two cheap changes, no retraining of
the network:
  * "jitter": each training event also enters the fit twice more with each edge moved by
    U(-J, +J) s (J = 0.1 s; at least half the event kept), so the head learns what an event is,
    not where the expert clicked;
  * "tta": at prediction, the head's logits are averaged over the event and four copies with one
    edge moved by +-D (D = 0.06 s).
For every fold package of RUN the grid {plain, jitter} x {no tta, tta} x C (event_fit.HEAD_C) x
blend (event_fit.HEAD_BLEND) is scored on the fold's inner-validation patients with exactly the
criterion of ``event_fit.fit_event_head`` (mean 1-1 / 1-2 Score, temperature and Score offsets
fitted there); the best cell is the fold's choice (ties: the earlier cell, plain first). Test
Scores are printed beside it, never used to choose. The "plain, no tta" cells are event_fit's own
grid, so its chosen cell must reproduce the manifest's test figures (checked, printed).

    python scripts/detector_event_head_jitter.py runs/det_cv17 [--folds 0,1] > runs/event_head_jitter.txt
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from clinaudio_gui.engine.common.data import EVENT_LABELS
from clinaudio_gui.engine.detector import data as D
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.event_fit import HEAD_BLEND, HEAD_C, _event_task_offsets, blend
from clinaudio_gui.engine.detector.segments import EventHead, features_for
from clinaudio_gui.engine.detector.train import _load_net, predict

J_S, COPIES, D_S = 0.1, 2, 0.06


def jittered(events, dur, rng):
    out = []
    for s, e, lab in events:
        for _ in range(COPIES):
            a, b = s + rng.uniform(-J_S, J_S), e + rng.uniform(-J_S, J_S)
            a, b = max(0.0, a), min(dur, b)
            if b - a < 0.5 * (e - s):      # keep at least half the event's length
                a, b = s, e
            out.append((a, b, lab))
    return out


def tta_sets(events, dur):
    sets = [list(events)]
    for ds, de in ((-D_S, 0), (D_S, 0), (0, -D_S), (0, D_S)):
        cur = []
        for s, e, lab in events:
            a, b = max(0.0, s + ds), min(dur, e + de)
            cur.append((a, b, lab) if b - a > 0.032 else (s, e, lab))
        sets.append(cur)
    return sets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--folds", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="write the per-fold results here")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    hop = D.detector_settings().hop_s
    recs = D.scan_recordings("../shared/data/sprsound/train")
    D.load_features(recs, cache_dir="runs/cache")
    only = None if a.folds is None else {int(x) for x in a.folds.split(",")}
    results = {}
    for mf in sorted(Path(a.run).glob("fold*/manifest.json")):
        k = int(mf.parent.name[4:])
        if only is not None and k not in only:
            continue
        net, m = _load_net(mf.parent)
        cal = m["calibration"]
        test_p, val_p = set(m["split"]["test_patients"]), set(m["split"]["inner_val_patients"])
        idx = {"va": [i for i, r in enumerate(recs) if r.patient in val_p],
               "te": [i for i, r in enumerate(recs) if r.patient in test_p]}
        idx["tr"] = [i for i, r in enumerate(recs) if r.patient not in test_p and r.patient not in val_p]

        def fx(out, seq, events):
            fl, rl = out
            return features_for(net.cfg, seq, S.softmax(fl / cal["t_frame"]), hop,
                                S.softmax(rl / cal["t_record"]), events)
        part = {}
        rng = np.random.default_rng(k)
        for name in ("tr", "va", "te"):
            seqs: list = []
            outs = predict(net, recs, idx[name], seqs=seqs)
            X, X_tta, y, fr, Xj, yj = [], [], [], [], [], []
            for o, h, i in zip(outs, seqs, idx[name]):
                ev = recs[i].events
                if not ev:
                    continue
                dur = recs[i].duration_s
                X.append(fx(o, h, ev))
                y += [e[2] for e in ev]
                if name == "tr":
                    jv = jittered(ev, dur, rng)
                    Xj.append(fx(o, h, jv))
                    yj += [e[2] for e in jv]
                else:
                    X_tta.append(np.stack([fx(o, h, sset) for sset in tta_sets(ev, dur)]))
                    fr.append(S.event_class_probs(S.softmax(o[0] / cal["t_frame"]), ev, hop))
            part[name] = {"X": np.concatenate(X), "y": y}
            if name == "tr":
                part[name].update(Xj=np.concatenate(Xj), yj=yj)
            else:
                part[name].update(X_tta=np.concatenate(X_tta, 1), fr=np.concatenate(fr))
            print(f"fold {k} {name}: {len(idx[name])} recordings, {len(y)} events", flush=True)
        va, te = part["va"], part["te"]
        yv = np.array([EVENT_LABELS.index(t) for t in va["y"]])

        def crit(p, ev_true, off):
            return {t: S.task_metrics(ev_true, p, t, None if off is None else np.asarray(off[t], float))["score"]
                    for t in ("1-1", "1-2")}
        grid = []
        for jit in (False, True):
            Xtr = np.concatenate([part["tr"]["X"], part["tr"]["Xj"]]) if jit else part["tr"]["X"]
            ytr = part["tr"]["y"] + part["tr"]["yj"] if jit else part["tr"]["y"]
            for c in HEAD_C:
                head = EventHead(Xtr.shape[1], len(EVENT_LABELS))
                head.fit(Xtr, ytr, list(EVENT_LABELS), C=c)
                for tta in (False, True):
                    def logits(d):
                        return (np.mean([head.logits(x) for x in d["X_tta"]], 0) if tta else head.logits(d["X"]))
                    zv, zt = logits(va), logits(te)
                    t_ev = S.fit_temperature(zv, yv)
                    for w in HEAD_BLEND:
                        pv = blend(S.softmax(zv / t_ev), va["fr"], w)
                        off = _event_task_offsets(va["y"], pv)
                        sv = crit(pv, va["y"], off)
                        pt = blend(S.softmax(zt / t_ev), te["fr"], w)
                        st = crit(pt, te["y"], off)
                        cell = {"jitter": jit, "tta": tta, "C": c, "blend": w,
                                "val": round(float(np.mean(list(sv.values()))), 4),
                                "test_1-1": round(st["1-1"], 4), "test_1-2": round(st["1-2"], 4)}
                        grid.append(cell)
                        print(f"fold {k} {json.dumps(cell)}", flush=True)
        best = {}
        for key, cells in (("plain", [g for g in grid if not g["jitter"] and not g["tta"]]), ("all", grid)):
            best[key] = max(cells, key=lambda g: g["val"])    # max keeps the first of equal values
        mt = m["metrics_full"]["tasks"]
        manifest_test = {"1-1": round(mt["1-1"]["score"], 4), "1-2": round(mt["1-2"]["score"], 4)}
        print(f"fold {k} CHOSEN plain {json.dumps(best['plain'])}  (manifest test {manifest_test})")
        print(f"fold {k} CHOSEN all   {json.dumps(best['all'])}", flush=True)
        results[k] = {"grid": grid, "best": best, "manifest_test": manifest_test}
        if a.json:
            Path(a.json).write_text(json.dumps(results, indent=1) + "\n")
    for key in ("plain", "all"):
        v = [results[k]["best"][key] for k in sorted(results)]
        for t in ("1-1", "1-2"):
            x = np.array([c[f"test_{t}"] for c in v])
            print(f"SUMMARY {key} test {t}: {x.mean():.4f} +- {x.std():.4f}  per fold {x.round(3).tolist()}")


if __name__ == "__main__":
    main()
