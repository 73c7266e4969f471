"""Re-estimate the BatchNorm statistics of a run's fold networks on their own training patients
(``train.update_batchnorm``: one epoch of training batches, equal-weight running averages), as
stochastic weight averaging does after averaging weights (detector_soup.py averages the statistics
with the weights instead). The weights stay; the package is marked for the retune that must follow,
whose search refits calibration, heads and decoder on the inner-validation patients.

    .venv/bin/python scripts/detector_bn_update.py runs/det_cv24 --out runs/det_cv25 --folds 0
    then, per fold K: clinaudio detect-train --data ... --out runs/det_cv25 --retune --event-head --proposals ...
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clinaudio_gui.engine.common.package import load_model_package, save_model_package  # noqa: E402
from clinaudio_gui.engine.detector import data as D  # noqa: E402
from clinaudio_gui.engine.detector.model import DetectorConfig, DetectorNet  # noqa: E402
from clinaudio_gui.engine.detector.train import (KIND, fold_indices, package_tensors,  # noqa: E402
                                                 untuned_manifest, update_batchnorm)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    ap.add_argument("--cache", default="runs/cache")
    ap.add_argument("--folds", type=int, nargs="*", default=None)
    ap.add_argument("--crop", type=int, default=None, help="crop frames (default: the run's training crop)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-augment", action="store_true", help="no SpecAugment on the batches")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    folds = sorted(Path(args.run).glob("fold*/manifest.json"))
    folds = [f.parent for f in folds if args.folds is None or int(f.parent.name[4:]) in args.folds]
    if not folds:
        raise SystemExit(f"{args.run}: no fold packages" + ("" if args.folds is None else f" among folds {args.folds}"))
    recs = D.scan_recordings(args.data)
    D.load_features(recs, cache_dir=args.cache)
    out = Path(args.out)
    for fdir in folds:
        t0 = time.time()
        tensors, m = load_model_package(fdir, kind=KIND)
        net = DetectorNet(DetectorConfig.from_dict(m["architecture"]))
        net.load_state_dict(tensors)
        tr_idx = fold_indices(recs, m)[0]
        if len(tr_idx) == 0:
            raise SystemExit(f"{fdir}: none of its training patients are in {args.data}")
        crop = args.crop or int(m.get("training", {}).get("crop_frames", 384))
        n = update_batchnorm(net, recs, tr_idx, crop=crop, seed=args.seed + int(fdir.name[4:]),
                             augment=not args.no_augment)
        new = untuned_manifest(m, bn_update={"from": str(fdir), "from_sha256": m["weights_sha256"], "batches": n,
                                             "training_recordings": len(tr_idx), "crop_frames": crop,
                                             "augment": not args.no_augment, "seed": args.seed + int(fdir.name[4:])})
        save_model_package(out / fdir.name, package_tensors(net), new)
        print(f"{fdir.name}: BatchNorm statistics re-estimated on {len(tr_idx)} training recordings "
              f"({n} batches, {time.time() - t0:.0f} s) -> {out / fdir.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
