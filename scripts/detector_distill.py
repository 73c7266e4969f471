"""Distil several detector runs' fold networks (the teachers) into one network per fold
(``engine/detector/distill.py``; docs/rules/session27_distill.txt). Per fold K: the student starts
from ``--init``'s fold network and trains ``--epochs`` more epochs on the fold's training patients
with the product's loss + ``--weight`` x the KL divergence from the teachers' mean frame
probabilities (each teacher at its package's calibrated frame temperature). ``--weight 0`` is the
control: the same continuation without teachers. The last epoch is kept (no epoch picked on the
inner-validation patients); the package is marked for the retune (its search) like a soup's.

    .venv/bin/python scripts/detector_distill.py --out runs/det_kd --teachers models/cv/det_cv25 runs/det_s1 \
        --init models/cv/det_cv25 --epochs 6 --lr 1e-3 --weight 1 --folds 0

``--split-from RUN`` instead of ``--init`` (session 29): the student starts from scratch (the product's
architecture, ``--widths``) on RUN's fold split, as ``detect-train`` would; ``--eval-from N`` keeps the
epoch ``detect-train`` would keep (the best on the inner-validation patients from epoch N; 4 from scratch,
1 for a continuation), so that a recipe stage differs from ``detect-train``'s only by the teachers' term
(scripts/detector_distill_run.sh: the whole recipe with it; docs/rules/session29_distill_scratch.txt).
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import detector_runs as R  # noqa: E402
from clinaudio_gui.engine.common.package import save_model_package  # noqa: E402
from clinaudio_gui.engine.detector.distill import class_weights, distillation_loss, teacher_probs  # noqa: E402
from clinaudio_gui.engine.detector.model import DetectorConfig  # noqa: E402
from clinaudio_gui.engine.detector.train import (_load_net, fold_indices, package_tensors,  # noqa: E402
                                                 train_network, untuned_manifest)


def _same_split(a: dict, b: dict) -> bool:
    return all(sorted(a["split"][k]) == sorted(b["split"][k]) for k in ("test_patients", "inner_val_patients"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    start = ap.add_mutually_exclusive_group(required=True)
    start.add_argument("--init", help="the run whose fold networks the students start from")
    start.add_argument("--split-from", help="start from scratch on this run's fold splits")
    ap.add_argument("--widths", type=int, nargs=3, default=None,
                    help="with --split-from: the branches' widths (default: the product's 12 24 32)")
    ap.add_argument("--eval-from", type=int, default=None,
                    help="keep the best epoch on the inner-validation patients from this one (default: the last)")
    ap.add_argument("--teachers", nargs="*", default=[], help="runs of calibrated fold packages (not with --weight 0)")
    ap.add_argument("--folds", type=int, nargs="*", default=None)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight", type=float, default=1.0, help="of the distillation term (0: the control)")
    ap.add_argument("--crop", type=int, default=None, help="crop frames (default: the init run's)")
    ap.add_argument("--seed", type=int, default=0, help="+ fold: the continuation's batches")
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    ap.add_argument("--cache", default="runs/cache")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    if a.weight > 0 and not a.teachers:
        raise SystemExit("--teachers: none given (only --weight 0, the control, trains without them)")
    if a.init and a.widths:
        raise SystemExit("--widths: only with --split-from (a continuation keeps its network's widths)")
    if a.weight == 0 and a.teachers:
        raise SystemExit("--weight 0 is the control: give no --teachers")
    import torch
    torch.set_num_threads(a.threads)
    fdirs = R.fold_dirs(a.init or a.split_from)   # a wrong run fails before the recordings load
    recs, _ = R.recordings(a.data, a.cache)
    out = Path(a.out)
    for fdir in fdirs:
        k = int(fdir.name[4:])
        if a.folds is not None and k not in a.folds:
            continue
        t0 = time.time()
        net, m = _load_net(fdir)
        if a.split_from:   # from scratch: only the split (and the crop) of that package is used
            net = None
            m = {key: v for key, v in m.items() if key not in ("calibration", "decoder", "record_source")}
            m["training"] = {"data": a.data, "crop_frames": m.get("training", {}).get("crop_frames", 384)}
        teachers, used = [], []
        for run in a.teachers:
            tdir = Path(run) / fdir.name
            if not (tdir / "manifest.json").is_file():
                raise SystemExit(f"{tdir}: no fold package")
            tnet, tm = _load_net(tdir)
            if not _same_split(m, tm):
                raise SystemExit(f"{tdir} and {fdir}: different splits")
            t = (tm.get("calibration") or {}).get("t_frame")
            if t is None:
                raise SystemExit(f"{tdir}: not calibrated (run its search first): no frame temperature")
            teachers.append((tnet, t))
            used.append({"package": str(tdir), "sha256": tm.get("weights_sha256"), "t_frame": t})
        tr_idx, va_idx, _ = fold_indices(recs, m)
        crop = a.crop or int(m.get("training", {}).get("crop_frames", 384))
        cfg = DetectorConfig.from_dict(m["architecture"]) if net is not None else \
            DetectorConfig(widths=tuple(a.widths or (12, 24, 32)))
        extra = None
        if teachers:
            probs = teacher_probs(teachers, recs, tr_idx)
            extra = distillation_loss(probs, a.weight, class_weights(recs, tr_idx, cfg.n_frame_classes))
            print(f"{fdir.name}: teachers' probabilities on {len(probs)} training recordings "
                  f"({time.time() - t0:.0f} s)", flush=True)
        student, history = train_network(recs, tr_idx, va_idx, cfg,
                                         epochs=a.epochs, seed=a.seed + k, crop=crop, lr=a.lr,
                                         init_state=None if net is None else net.state_dict(),
                                         eval_from=a.eval_from, extra_loss=extra,
                                         log=lambda s: print(s, flush=True))
        if net is None:
            m["training"]["epochs"] = len(history)
        m["architecture"] = student.cfg.to_dict()
        m["fusion_weights"] = student.fusion_weights().detach().tolist()
        note = {"from": None if net is None else str(fdir), "split_from": str(fdir) if net is None else None,
                "from_sha256": None if net is None else m.get("weights_sha256"), "teachers": used, "weight": a.weight,
                "epochs": a.epochs, "lr": a.lr, "crop_frames": crop, "seed": a.seed + k,
                "kept": "last epoch" if a.eval_from is None else f"best on inner validation from epoch {a.eval_from}",
                "history": history, "minutes": round((time.time() - t0) / 60, 1),
                "command": "python scripts/detector_distill.py " + " ".join(sys.argv[1:])}
        save_model_package(out / fdir.name, package_tensors(student.cpu()), untuned_manifest(m, distilled=note))
        print(f"{fdir.name}: {a.epochs} epochs, weight {a.weight}, {len(used)} teachers "
              f"({note['minutes']} min) -> {out / fdir.name}  {json.dumps(history[-1])}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
