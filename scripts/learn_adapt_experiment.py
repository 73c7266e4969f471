"""The adaptation table of docs/models.md ("Model in the loop"): the bundled fold-0 detector
adapted to 50 random pool recordings of its own held-out patients (the study's split), scored on
the study's test patients, for several ways of learning from the labels.

    .venv/bin/python scripts/learn_adapt_experiment.py [--model runs/det_cv2/fold0] [--n 50]
"""
import argparse
import copy
import time

import numpy as np
import torch

from clinaudio_gui.engine.detector import data as D
from clinaudio_gui.engine.detector.finetune import judge, load_net, predict_blocks
from clinaudio_gui.engine.detector.model import DetectorConfig
from clinaudio_gui.engine.detector.simulate import split_patients
from clinaudio_gui.engine.detector.train import _weights_from_counts, train_network, tune_decoder


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/detector-sprsound")
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    ap.add_argument("--n", type=int, default=50)
    args = ap.parse_args()
    torch.set_num_threads(1)
    base, m = load_net(args.model)
    state = {k: v.clone() for k, v in base.state_dict().items()}
    recs = D.scan_recordings(args.data)
    D.load_features(recs, cache_dir="runs/cache")
    pool, test = split_patients(recs, m, 0.5, print)
    lab = np.random.default_rng(0).permutation(pool)[:args.n]
    cfg = DetectorConfig.from_dict(m["architecture"])
    seen = set(m["split"]["test_patients"]) | set(m["split"]["inner_val_patients"])
    tr = [i for i, r in enumerate(recs) if r.patient not in seen]
    fw = _weights_from_counts(np.bincount(np.concatenate([recs[i].target for i in tr]), minlength=8))
    rw = _weights_from_counts(np.bincount([recs[i].record_index for i in tr], minlength=5))

    def retuned(net):
        p, _ = tune_decoder(predict_blocks(net, recs, lab), lab, recs, m["calibration"]["t_frame"],
                            D.detector_settings().hop_s, log=lambda x: None)
        mm = copy.deepcopy(m)
        mm["decoder"] = p.to_dict()
        return judge(net, mm, recs, test)

    print("none (bundled)", judge(base, m, recs, test))
    print("decoder chosen again", retuned(base))
    variants = {
        "fine-tune 3e-4, batch norm updating": dict(lr=3e-4),
        "fine-tune 1e-4, batch norm frozen": dict(lr=1e-4, freeze_bn=True),
        "same, base class weights": dict(lr=1e-4, freeze_bn=True, frame_weights=fw, record_weights=rw),
        "GRU/attention/heads only, 3e-4": dict(lr=3e-4, freeze_bn=True, train_encoder=False, frame_weights=fw,
                                              record_weights=rw),
        "fine-tune 3e-5, batch norm frozen": dict(lr=3e-5, freeze_bn=True),
    }
    for name, kw in variants.items():
        t0 = time.time()
        net, _ = train_network(recs, np.array(lab), np.zeros(0, np.int64), cfg, epochs=4, seed=0, crop=384,
                               batch=8, log=lambda x: None, eval_from=None, init_state=state, **kw)
        print(name, judge(net, m, recs, test), "+ decoder chosen again:", retuned(net),
              f"({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
