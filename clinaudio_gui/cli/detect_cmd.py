"""`clinaudio detect` (events + record label of whole recordings) and `clinaudio detect-train`
(patient-wise k-fold training of the detector)."""
from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    t = subparsers.add_parser("detect-train", help="train the sound-event detector with patient-wise k-fold CV")
    t.add_argument("--data", required=True, help="folder of SPRSound recordings + JSON")
    t.add_argument("--out", required=True, help="output folder: fold0..foldK-1 packages + cv.json")
    t.add_argument("--folds", type=int, default=5)
    t.add_argument("--only-folds", default=None, help="comma-separated fold numbers to train (default all)")
    t.add_argument("--epochs", type=int, default=14)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--crop-frames", type=int, default=448)
    t.add_argument("--widths", default="12,24,32")
    t.add_argument("--cache", default="runs/cache", help="feature cache folder")
    t.set_defaults(func=cmd_detect_train)


def cmd_detect_train(args) -> int:
    from clinaudio_gui.engine.detector.train import run_cv
    only = None if not args.only_folds else [int(x) for x in args.only_folds.split(",")]

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    res = run_cv(args.data, args.out, folds=args.folds, epochs=args.epochs, seed=args.seed, threads=args.threads,
                 cache_dir=args.cache, only_folds=only, widths=[int(x) for x in args.widths.split(",")],
                 crop=args.crop_frames, log=log)
    print(json.dumps(res["mean_std"], indent=2))
    return 0
