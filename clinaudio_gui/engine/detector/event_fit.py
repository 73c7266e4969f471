"""Fitting the event head (``segments.EventHead``) of a trained detector network and using it
for tasks 1-1 / 1-2 in training-time evaluation (the encoder stays frozen)."""
from __future__ import annotations

import time

import numpy as np

from clinaudio_gui.engine.common.data import EVENT_LABELS
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.model import DetectorNet, rebuilt


HEAD_C = (0.03, 0.01, 0.1)          # the first is the default found by the variants study
HEAD_BLEND = (1.0, 0.75, 0.5)       # the head's weight against the frame average


def _arr(x):
    return None if x is None else np.asarray(x, np.float64)


def event_probs(net: DetectorNet, calib: dict, fp: np.ndarray, rp: np.ndarray, seq, events,
                hop_s: float) -> np.ndarray:
    """(n_events, 7) class probabilities of given events: the event head's (temperature scaled)
    when the calibration says so (``event_source == "head"``), blended with the frame average by
    ``event_blend`` (the head's weight, chosen on validation), else the frame average. ``fp``,
    ``rp``: calibrated frame and record probabilities."""
    fr = S.event_class_probs(fp, events, hop_s)
    if calib.get("event_source") == "head" and seq is not None and hasattr(net, "event_head"):
        from clinaudio_gui.engine.detector.segments import features_for
        z = net.event_head.logits(features_for(net.cfg, seq, fp, hop_s, rp, events))
        return blend(S.softmax(z / float(calib.get("t_event", 1.0))), fr, float(calib.get("event_blend", 1.0)))
    return fr


def blend(head: np.ndarray, frames: np.ndarray, w: float) -> np.ndarray:
    """The head's probabilities weighted ``w``, the frame average ``1 - w`` (rows still sum to 1)."""
    return head if w >= 1.0 else w * head + (1.0 - w) * frames


def _event_task_offsets(ev_true, evp) -> dict:
    out = {}
    for task in ("1-1", "1-2"):
        labels = S.task_labels(task)
        y = S.task_targets(ev_true, task)
        out[task] = S.fit_offsets(S.merge_to_task(evp, task), y, labels, mode=S.offset_mode(task)).round(3).tolist()
    return out


def fit_event_head(net: DetectorNet, recs, tr_idx, tr_out, tr_seqs, va_out, va_seqs, va_idx, calib: dict,
                   hop_s: float, log=print) -> dict:
    """Fit the event head (segments.EventHead) on the training patients' expert events with the
    encoder frozen (``*_out``, ``*_seqs``: the network's outputs and sequences, ``train.predict``), its temperature and 1-1 / 1-2 offsets on the validation patients; keep it
    (``calib["event_source"] = "head"``) only if its mean 1-1 / 1-2 Score on validation is at least
    the frame average's (both with offsets fitted there). The head's L2 strength (C among
    ``HEAD_C``) and its blend with the frame average (``event_blend`` among ``HEAD_BLEND``) are
    chosen on the same validation patients. Updates ``calib`` in place."""
    from clinaudio_gui.engine.detector.segments import features_for
    t0 = time.time()
    feats, labels = [], []

    def fx(fl, rl, h, events):
        return features_for(net.cfg, h, S.softmax(fl / calib["t_frame"]), hop_s,
                            S.softmax(rl / calib["t_record"]), events)
    for (fl, rl), h, i in zip(tr_out, tr_seqs, tr_idx):
        if recs[i].events:
            feats.append(fx(fl, rl, h, recs[i].events))
            labels += [e[2] for e in recs[i].events]
    if len(set(labels)) < 2:
        calib["event_source"] = "frames"
        log(f"  event head: not fitted ({len(labels)} training events of {len(set(labels))} class)")
        return {"fitted_on_events": len(labels), "chosen": "frames", "why": "fewer than 2 classes"}
    va_feats, ev_true, fr = [], [], []
    for (fl, rl), h, i in zip(va_out, va_seqs, va_idx):
        if recs[i].events:
            va_feats.append(fx(fl, rl, h, recs[i].events))
            fr.append(S.event_class_probs(S.softmax(fl / calib["t_frame"]), recs[i].events, hop_s))
            ev_true += [e[2] for e in recs[i].events]
    if not va_feats:
        info = net.event_head.fit(np.concatenate(feats), labels, list(EVENT_LABELS))
        calib["event_source"] = "frames"
        info.update({"chosen": "frames", "why": "no validation events"})
        return info
    va_x, fr = np.concatenate(va_feats), np.concatenate(fr)
    y_true = np.array([EVENT_LABELS.index(x) for x in ev_true])

    def mean_score(p, off):
        return float(np.mean([S.task_metrics(ev_true, p, t, _arr(off[t]))["score"] for t in ("1-1", "1-2")]))
    off_f = _event_task_offsets(ev_true, fr)
    sf = mean_score(fr, off_f)
    best, grid = None, {}
    for c in HEAD_C:
        info = net.event_head.fit(np.concatenate(feats), labels, list(EVENT_LABELS), C=c)
        z = net.event_head.logits(va_x)
        t_event = S.fit_temperature(z, y_true)
        hp = S.softmax(z / t_event)
        for w in HEAD_BLEND:
            p = blend(hp, fr, w)
            off = _event_task_offsets(ev_true, p)
            sc = mean_score(p, off)
            grid[f"C={c} blend={w}"] = round(sc, 4)
            if best is None or sc > best[0]:
                best = (sc, c, w, t_event, off, info, {k: v.clone() for k, v in net.event_head.state_dict().items()})
    sh, c, w, t_event, off_h, info, state = best
    net.event_head.load_state_dict(state)
    use = sh >= sf
    calib["t_event"] = t_event
    calib["event_blend"] = w
    calib["event_source"] = "head" if use else "frames"
    calib["offsets"].update(off_h if use else off_f)
    info.update({"validation_mean_1x_score": {"head": round(sh, 4), "frames": round(sf, 4)}, "C": c,
                 "blend": w, "validation_grid": grid, "t_event": round(t_event, 4), "chosen": calib["event_source"],
                 "seconds": round(time.time() - t0, 1)})
    log(f"  event head: validation mean 1-1/1-2 Score head {sh:.3f} (C={c}, blend {w}) vs frame average "
        f"{sf:.3f} -> {calib['event_source']} (T={t_event:.2f}, {len(labels)} training events)")
    return info


def with_event_head(net: DetectorNet) -> DetectorNet:
    """The same network with an (unfitted) event head added, if it has none of the current input
    size (an older head is dropped)."""
    from clinaudio_gui.engine.detector.segments import n_features_for
    n = n_features_for(net.cfg)
    if hasattr(net, "event_head") and net.cfg.event_head_features == n:
        return net
    return rebuilt(net, "event_head.", event_head_features=n)
