"""Where the detector's event F is lost (the figures in docs/models.md, "Where it fails"):
on a detector package's own held-out (``--split test``) or inner-validation (``--split val``)
patients, how many expert adventitious events have an overlapping detected event of the same
class, how far their onsets / offsets are off, event F with constant onset / offset shifts, and
an oracle that names the detector's own "segments" with the experts' labels (so what is left is
the segmentation alone), and, for a package with an event head, the decoder's events renamed by
the head.

    .venv/bin/python scripts/detector_boundary_analysis.py [--model runs/det_cv/fold0] [--split val|test]
"""
import argparse
from dataclasses import replace

import numpy as np
import torch

from clinaudio_gui.engine.common.data import EVENT_LABELS
from clinaudio_gui.engine.detector import data as D
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.decode import DecoderParams, decode
from clinaudio_gui.engine.detector.finetune import load_net
from clinaudio_gui.engine.detector.proposal_fit import decoder_params
from clinaudio_gui.engine.detector.train import _ref_events, predict
from clinaudio_gui.metrics.events import event_metrics


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/detector-sprsound")
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    ap.add_argument("--split", default="val", choices=("val", "test"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    net, m = load_net(args.model)
    recs = D.scan_recordings(args.data)
    D.load_features(recs, cache_dir="runs/cache")
    pats = set(m["split"]["inner_val_patients" if args.split == "val" else "test_patients"])
    idx = np.array([i for i, r in enumerate(recs) if r.patient in pats])
    outs = predict(net, recs, idx)
    hop, tf = D.detector_settings().hop_s, m["calibration"]["t_frame"]
    ref = _ref_events(recs, idx)
    dur = {recs[i].audio: recs[i].duration_s for i in idx}
    base = decoder_params(net, {**m["decoder"], "onset_shift_s": 0.0, "offset_shift_s": 0.0})

    def estimate(p, oracle=False):
        est = {}
        for (fl, _), i in zip(outs, idx):
            r, evs = recs[i], []
            for e in decode(S.softmax(fl / tf), EVENT_LABELS, hop, p):
                s, en, lab = e["start_s"], e["end_s"], e["label"]
                if oracle:
                    ov = [(min(en, b) - max(s, a), lb) for a, b, lb in r.events if min(en, b) > max(s, a)]
                    lab = max(ov)[1] if ov else "Normal"
                evs.append((s, en, lab))
            est[r.audio] = evs
        return est

    def f(est):
        return event_metrics(ref, est, durations_s=dur)["event_based"]["micro"]["f"]

    est = estimate(base)
    print(f"{len(idx)} recordings ({args.split} patients); decoder without shifts: event F {f(est):.3f}")

    def fam(label):
        return "Crackle" if "Crackle" in label and label != "Wheeze+Crackle" else label
    on, off, hit, tot = [], [], 0, 0
    for a in ref:
        det = [e for e in est[a] if e[2] != "Normal"]
        for s, e, lab in (x for x in ref[a] if x[2] != "Normal"):
            tot += 1
            c = [x for x in det if x[0] < e and x[1] > s and (fam(x[2]) == fam(lab) or "Wheeze+Crackle" in (x[2], lab))]
            if c:
                hit += 1
                b = max(c, key=lambda x: min(e, x[1]) - max(s, x[0]))
                on.append(b[0] - s)
                off.append(b[1] - e)
    on, off = np.array(on), np.array(off)
    print(f"expert adventitious events {tot}; with an overlapping detected event of the same class {hit} "
          f"({hit / max(tot, 1):.0%})")
    if len(on):
        print(f"onset error percentiles 10/25/50/75/90: {np.percentile(on, [10, 25, 50, 75, 90]).round(2)}; "
              f"within 0.2 s {np.mean(np.abs(on) <= 0.2):.0%}")
        print(f"offset error percentiles: {np.percentile(off, [10, 25, 50, 75, 90]).round(2)}")
    for key, vals in (("onset_shift_s", (-0.15, -0.1, -0.05, 0.05)), ("offset_shift_s", (-0.1, -0.05, 0.05, 0.1))):
        for v in vals:
            p = replace(base, **{key: v})   # keeps a proposal scorer
            print(f"{key} {v:+.2f}: event F {f(estimate(p)):.3f}")
    best = 0.0
    for thr in (0.5, 0.6, 0.7):
        for med in (1, 9, 15):
            p = DecoderParams(mode="segments", event_threshold=thr, median_frames=med, min_duration_s=0.25,
                              max_gap_s=0.1, hysteresis=1.0)
            fo = f(estimate(p, oracle=True))
            best = max(best, fo)
            print(f"segments thr {thr} median {med}: event F {f(estimate(p)):.3f}, oracle-named {fo:.3f}")
    print(f"best oracle-named segmentation: event F {best:.3f}")
    if m.get("calibration", {}).get("event_source") == "head":
        # the detector's own events (bundled decoder, shifts included) renamed by the event head
        from clinaudio_gui.engine.detector.event_fit import event_probs
        seqs: list = []
        predict(net, recs, idx, seqs=seqs)
        dec = decoder_params(net, m["decoder"])
        cal = m["calibration"]
        plain, renamed = {}, {}
        for (fl, rl), h, i in zip(outs, seqs, idx):
            fp = S.softmax(fl / tf)
            evs = [(e["start_s"], e["end_s"], e["label"]) for e in decode(fp, EVENT_LABELS, hop, dec)]
            plain[recs[i].audio] = evs
            pr = event_probs(net, cal, fp, S.softmax(rl / cal["t_record"]), h, evs, hop) if evs else []
            renamed[recs[i].audio] = [(a, b, EVENT_LABELS[int(np.argmax(q))]) for (a, b, _), q in zip(evs, pr)]
        print(f"decoder's events as decoded: event F {f(plain):.3f}; renamed by the event head: {f(renamed):.3f}")


if __name__ == "__main__":
    main()
