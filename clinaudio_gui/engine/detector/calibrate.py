"""The search of training that needs no gradient: temperatures, Score offsets and the
thresholding decoder fitted on validation recordings (``fit_calibration``, ``tune_decoder``), every
figure of a set of recordings from the network's outputs (``evaluate_outputs``) and the epoch
criterion (``_val_criterion``). Moved out of train.py unchanged; train.py re-exports them."""
from __future__ import annotations

import numpy as np

from clinaudio_gui.engine.common.data import EVENT_LABELS, RECORD_LABELS
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.decode import DecoderParams, decode
from clinaudio_gui.engine.detector.event_fit import _arr, event_probs
from clinaudio_gui.metrics.events import event_metrics


def _ref_events(recs, idx):
    return {recs[i].audio: [(s, e, lab) for s, e, lab in recs[i].events] for i in idx}


def _decode_all(outs, idx, recs, params: DecoderParams, t_frame: float, hop_s: float):
    est = {}
    for (fl, _), i in zip(outs, idx):
        est[recs[i].audio] = [(e["start_s"], e["end_s"], e["label"])
                              for e in decode(S.softmax(fl / t_frame), EVENT_LABELS, hop_s, params)]
    return est


def tune_decoder(outs, idx, recs, t_frame: float, hop_s: float, log=print) -> tuple[DecoderParams, float]:
    """Grid + coordinate search of the decoder on validation recordings (event micro F, sed_eval),
    in both modes (class-wise activity; cut-then-name segments); the better one is kept."""
    ref = _ref_events(recs, idx)
    dur = {recs[i].audio: recs[i].duration_s for i in idx}

    def f_of(p):
        return event_metrics(ref, _decode_all(outs, idx, recs, p, t_frame, hop_s),
                             durations_s=dur)["event_based"]["micro"]["f"] or 0.0

    def refine(best, best_f, grids):
        for key, values in grids:
            for v in values:
                p = DecoderParams(**{**best.to_dict(), key: v})
                f = f_of(p)
                if f > best_f + 1e-9:
                    best, best_f = p, f
        return best, best_f

    # class-wise activity
    best, best_f = DecoderParams(), -1.0
    for thr in (0.3, 0.4, 0.5, 0.6):
        for med in (1, 9):
            for mind in (0.1, 0.25):
                p = DecoderParams(default_threshold=thr, median_frames=med, min_duration_s=mind, max_gap_s=0.1)
                f = f_of(p)
                if f > best_f:
                    best, best_f = p, f
    best, best_f = refine(best, best_f, [("hysteresis", (0.5, 0.85, 1.0)), ("max_gap_s", (0.0, 0.25))])
    for lab in EVENT_LABELS[1:]:
        for thr in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            p = DecoderParams(**{**best.to_dict(), "thresholds": {**best.thresholds, lab: thr}})
            f = f_of(p)
            if f > best_f + 1e-9:
                best, best_f = p, f
    shifts = [("onset_shift_s", (-0.3, -0.25, -0.2, -0.15, -0.1, -0.05, 0.05)),
              ("offset_shift_s", (-0.1, -0.05, 0.05, 0.1, 0.15, 0.2, 0.3))]
    best, best_f = refine(best, best_f, shifts)
    log(f"  decoder (class-wise) on validation: F={best_f:.3f}")
    # cut, then name
    sbest, sbest_f = None, -1.0
    for thr in (0.4, 0.5, 0.6, 0.7, 0.8):
        for med in (1, 9):
            for mind in (0.1, 0.25):
                p = DecoderParams(mode="segments", event_threshold=thr, median_frames=med, min_duration_s=mind,
                                  max_gap_s=0.1, hysteresis=1.0)
                f = f_of(p)
                if f > sbest_f:
                    sbest, sbest_f = p, f
    sbest, sbest_f = refine(sbest, sbest_f, [("hysteresis", (0.6, 0.8)), ("max_gap_s", (0.0, 0.25))])
    for _ in range(2):
        for lab in EVENT_LABELS[1:]:
            for off in (-1.0, -0.5, 0.5, 1.0, 2.0):
                p = DecoderParams(**{**sbest.to_dict(), "label_offsets": {**sbest.label_offsets, lab: off}})
                f = f_of(p)
                if f > sbest_f + 1e-9:
                    sbest, sbest_f = p, f
    sbest, sbest_f = refine(sbest, sbest_f, shifts)
    log(f"  decoder (segments) on validation: F={sbest_f:.3f}")
    if sbest_f > best_f:
        best, best_f = sbest, sbest_f
    log(f"  decoder chosen on validation: F={best_f:.3f} {best.to_dict()}")
    return best, best_f


def evaluate_outputs(outs, idx, recs, calib: dict, params: DecoderParams, hop_s: float, *,
                     seqs=None, net=None) -> dict:
    """Every figure of a set of recordings from the network's outputs and the fitted settings
    (``seqs`` and ``net``: the encoder sequences and the network, for the event head)."""
    t_f, t_r = calib["t_frame"], calib["t_record"]
    ref = _ref_events(recs, idx)
    dur = {recs[i].audio: recs[i].duration_s for i in idx}
    est = {}
    ev_true, ev_probs, rec_true, rec_probs, rec_from_ev = [], [], [], [], []
    frame_logits, frame_true = [], []
    for j, ((fl, rl), i) in enumerate(zip(outs, idx)):
        r = recs[i]
        fp = S.softmax(fl / t_f)
        e = None
        if params.needs_edges:
            if seqs is None or net is None or not hasattr(net, "edge_head"):
                raise ValueError("this decoder needs the edge head: pass the network and its sequences")
            from clinaudio_gui.engine.detector.edges import edge_probs
            e = edge_probs(net, seqs[j], fp)
        evs = decode(fp, EVENT_LABELS, hop_s, params, edges=e)
        est[r.audio] = [(e["start_s"], e["end_s"], e["label"]) for e in evs]
        if r.events:
            ev_true += [e[2] for e in r.events]
            if net is not None:
                ev_probs.append(event_probs(net, calib, fp, S.softmax(rl / t_r), None if seqs is None else seqs[j],
                                            r.events, hop_s))
            else:
                ev_probs.append(S.event_class_probs(fp, r.events, hop_s))
        rp = S.softmax(rl / t_r)
        rec_true.append(r.record_label)
        rec_probs.append(rp)
        rec_from_ev.append(S.record_from_events(evs, rp.argmax() == RECORD_LABELS.index("Poor Quality")))
        step = max(1, len(fl) // 64)  # a subsample of frames for the frame ECE
        frame_logits.append(fl[::step])
        frame_true.append(r.target[::step])
    res = {"events": event_metrics(ref, est, durations_s=dur)}
    evp = np.concatenate(ev_probs) if ev_probs else np.zeros((0, len(EVENT_LABELS)))
    rpp = np.array(rec_probs)
    off = calib.get("offsets", {})
    res["tasks"] = {
        "1-1": S.task_metrics(ev_true, evp, "1-1", _arr(off.get("1-1"))),
        "1-2": S.task_metrics(ev_true, evp, "1-2", _arr(off.get("1-2"))),
        "2-1": S.task_metrics(rec_true, rpp, "2-1", _arr(off.get("2-1"))),
        "2-2": S.task_metrics(rec_true, rpp, "2-2", _arr(off.get("2-2"))),
    }
    onehot = np.eye(len(RECORD_LABELS))[[RECORD_LABELS.index(x) for x in rec_from_ev]]
    res["tasks_record_from_events"] = {"2-1": S.task_metrics(rec_true, onehot, "2-1"),
                                       "2-2": S.task_metrics(rec_true, onehot, "2-2")}
    fl_all, ft_all = np.concatenate(frame_logits), np.concatenate(frame_true)
    res["calibration"] = {
        "record_ece_raw": S.ece(S.softmax(np.array([o[1] for o in outs])),
                                [RECORD_LABELS.index(x) for x in rec_true]),
        "record_ece": S.ece(rpp, [RECORD_LABELS.index(x) for x in rec_true]),
        "frame_ece_raw": S.ece(S.softmax(fl_all), ft_all),
        "frame_ece": S.ece(S.softmax(fl_all / t_f), ft_all),
        "event_1_2_ece": S.ece(evp, [EVENT_LABELS.index(x) for x in ev_true]) if len(ev_true) else None,
    }
    return res


def fit_calibration(outs, idx, recs, hop_s: float, log=print) -> tuple[dict, DecoderParams]:
    fl = np.concatenate([o[0] for o in outs])
    ft = np.concatenate([recs[i].target for i in idx])
    t_frame = S.fit_temperature(fl, ft)
    rl = np.array([o[1] for o in outs])
    rt = np.array([recs[i].record_index for i in idx])
    t_record = S.fit_temperature(rl, rt)
    calib = {"t_frame": t_frame, "t_record": t_record, "offsets": {}, "offset_modes": dict(S.TASK_OFFSET_MODES)}
    ev_true, ev_probs = [], []
    for (f, _), i in zip(outs, idx):
        if recs[i].events:
            ev_true += [e[2] for e in recs[i].events]
            ev_probs.append(S.event_class_probs(S.softmax(f / t_frame), recs[i].events, hop_s))
    evp = np.concatenate(ev_probs)
    rpp = S.softmax(rl / t_record)
    rec_true = [recs[i].record_label for i in idx]
    for task, (yt, pp) in {"1-1": (ev_true, evp), "1-2": (ev_true, evp),
                           "2-1": (rec_true, rpp), "2-2": (rec_true, rpp)}.items():
        labels = S.task_labels(task)
        y = S.task_targets(yt, task)
        calib["offsets"][task] = S.fit_offsets(S.merge_to_task(pp, task), y, labels,
                                               mode=S.offset_mode(task)).round(3).tolist()
    params, _ = tune_decoder(outs, idx, recs, t_frame, hop_s, log=log)
    log(f"  temperatures: frame {t_frame:.3f} record {t_record:.3f}; offsets {calib['offsets']}")
    return calib, params


def _val_criterion(outs, idx, recs, hop_s):
    """Epoch choice: mean of event micro F (default decoder) and the 2-2 Score (no offsets)."""
    calib = {"t_frame": 1.0, "t_record": 1.0, "offsets": {}}
    r = evaluate_outputs(outs, idx, recs, calib, DecoderParams(), hop_s)
    f = r["events"]["event_based"]["micro"]["f"] or 0.0
    s = r["tasks"]["2-2"]["score"]
    return 0.5 * (f + s), f, s
