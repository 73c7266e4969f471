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
    t.add_argument("--seed", type=int, default=0, help="the patient folds' and inner split's seed (default 0)")
    t.add_argument("--train-seed", type=int, default=None,
                   help="the network's seed (initialisation, batches; + fold) when it should differ from --seed: "
                        "another network on the same folds")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--device", default="cpu", help="where the network trains (cpu, cuda); the rest runs on the CPU")
    t.add_argument("--crop-frames", type=int, default=448)
    t.add_argument("--widths", default="12,24,32")
    t.add_argument("--cache", default="runs/cache", help="feature cache folder")
    t.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (one-cycle)")
    t.add_argument("--init-from", default=None, metavar="DIR",
                   help="continue training each fold's model from DIR/fold<k> (same split; e.g. more epochs)")
    t.add_argument("--boundary-weight", type=float, default=0.0,
                   help="weigh the frame loss near event onsets / offsets by 1 + B (Gaussian, sigma 0.1 s); 0 = off")
    t.add_argument("--edge-loss", type=float, default=0.0, metavar="W",
                   help="training: train an onset / offset head with the network and add W x its loss, so "
                        "that the encoder learns the experts' event boundaries (0 = off)")
    t.add_argument("--time-budget-min", type=float, default=None,
                   help="train each fold for this many minutes (one-cycle over wall-clock time; --epochs is then "
                        "a ceiling), e.g. on a lent GPU of unknown speed")
    t.add_argument("--swa", action="store_true",
                   help="training: stochastic weight averaging: a cosine learning rate from --lr to --lr/100 within "
                        "every epoch, the weights at every epoch's end averaged, BatchNorm statistics re-estimated "
                        "on the training patients (no epoch picked by validation; e.g. with --init-from)")
    t.add_argument("--mixup", type=float, default=0.0, metavar="P",
                   help="training: mix this share of the batches with a shuffled copy of themselves (mixup, "
                        "lam ~ Beta(0.4, 0.4); the loss mixes both crops' targets alike); 0 = off")
    t.add_argument("--augment", choices=("none", "gan"), default="none",
                   help="training: gan = add synthetic recordings in which Normal cycles of the fold's training "
                        "recordings carry a sound of --gan-model (Griffin-Lim audio of a class-conditional patch, "
                        "relabelled with its class); refused for a fold whose validation or test patients the "
                        "generator saw (train one with `clinaudio gan train --exclude-patients-of FOLD_DIR`)")
    t.add_argument("--gan-model", default=None, metavar="DIR", help="with --augment gan: the generator package")
    t.add_argument("--gan-recordings", type=int, default=None, metavar="N",
                   help="with --augment gan: synthetic recordings per fold (default: half its training recordings)")
    t.add_argument("--gan-share", type=float, default=0.25, metavar="P",
                   help="with --augment gan: the share of training crops drawn from synthetic recordings")
    t.add_argument("--train-only", action="store_true",
                   help="train and save each fold's network with its split, without the calibration / decoder "
                        "search (run --retune --event-head --proposals on the folder afterwards)")
    t.add_argument("--workers", type=int, default=1, help="processes computing the features (first run only)")
    t.add_argument("--inner-split", choices=("random", "stratified"), default="random",
                   help="training: how each fold's inner-validation patients are drawn (random: the bundled "
                        "folds' split; stratified: by record label and rare event class, so that every fold "
                        "chooses its epoch and decoder on its share of events)")
    t.add_argument("--retune", action="store_true",
                   help="no training: refit calibration + decoder of the trained folds on their own validation "
                        "patients and re-score their test patients")
    t.add_argument("--event-head", action="store_true",
                   help="with --retune: add the event head (tasks 1-1 / 1-2 from pooled encoder features) to "
                        "folds without one, fitted on each fold's training patients")
    t.add_argument("--keep-decoder", action="store_true",
                   help="with --retune: keep each fold's temperatures, offsets and decoder (no search; the "
                        "weights are unchanged), e.g. when only adding the event head")
    t.add_argument("--proposals", action="store_true",
                   help="with --retune: fit the proposal decoder (candidate events scored by boosted trees, a "
                        "one-layer network or both, fitted on each fold's training patients; the scorer chosen "
                        "on validation); kept where validation event F is higher "
                        "(training always tries it)")
    t.add_argument("--proposal-targets", default="any,class",
                   help="with --proposals: the scorers' training targets to try (any: near an expert event; "
                        "class: also named so as to count for it), comma-separated")
    t.add_argument("--proposal-variants", default="thresholds,thresholds+base",
                   help="with --proposals: the candidate sets to try (thresholds: runs of activity only; "
                        "thresholds+base: the thresholding decoder's events join them)")
    t.add_argument("--proposal-scorers", default="trees,network,trees+network",
                   help="with --proposals: the scorers to try (trees, network, trees+network: their mean)")
    t.add_argument("--proposal-threshold-rule", choices=("max", "smoothed"), default="max",
                   help="with --proposals: the score threshold with the highest validation event F (max), or "
                        "with the highest mean over it and its grid neighbours (smoothed: no one-point spikes)")
    t.add_argument("--proposal-bags", type=int, default=1, metavar="N",
                   help="with --proposals: fit N trees and N networks per scorer (the positives and disjoint "
                        "draws of negatives, seeds + 0..N-1) and average their log-odds (bagging; default 1)")
    t.add_argument("--edge-head", action="store_true",
                   help="with the proposal decoder (training, or --retune --proposals): fit an onset / offset head "
                        "on the frozen encoder first (training patients) and let every proposal scorer see its "
                        "activity")
    t.add_argument("--bundle", default=None, metavar="DEST",
                   help="after training: copy --bundle-fold's package to DEST (e.g. models/detector-sprsound) "
                        "with the k-fold figures")
    t.add_argument("--bundle-fold", type=int, default=0)
    t.set_defaults(func=cmd_detect_train)
    register_detect(subparsers)


def _targets(text: str) -> tuple:
    from clinaudio_gui.engine.detector.proposal_fit import TARGETS
    out = tuple(x.strip() for x in text.split(",") if x.strip())
    bad = [x for x in out if x not in TARGETS]
    if bad or not out:
        print(f"clinaudio detect-train: --proposal-targets {text!r}: each must be one of "
              f"{', '.join(TARGETS)}", file=sys.stderr)
        raise SystemExit(2)
    return out


def _search(args):
    """The ProposalSearch of --proposal-targets / -variants / -scorers / -threshold-rule (exit 2 on a
    bad name)."""
    from clinaudio_gui.engine.detector.proposal_fit import ProposalSearch

    def names(text):
        return tuple(x.strip() for x in text.split(",") if x.strip())
    try:
        return ProposalSearch(targets=_targets(args.proposal_targets), variants=names(args.proposal_variants),
                              scorers=names(args.proposal_scorers), threshold_rule=args.proposal_threshold_rule,
                              bags=args.proposal_bags)
    except ValueError as e:
        print(f"clinaudio detect-train: {e}", file=sys.stderr)
        raise SystemExit(2)


def cmd_detect_train(args) -> int:
    from clinaudio_gui.engine.detector.train import run_cv
    if args.time_budget_min is not None and not args.time_budget_min > 0:
        print(f"clinaudio detect-train: --time-budget-min {args.time_budget_min}: must be > 0", file=sys.stderr)
        return 2
    if args.swa and args.time_budget_min is not None:
        print("clinaudio detect-train: --swa averages whole epochs: it cannot be used with --time-budget-min",
              file=sys.stderr)
        return 2
    if not args.edge_loss >= 0:
        print(f"clinaudio detect-train: --edge-loss {args.edge_loss}: must be >= 0", file=sys.stderr)
        return 2
    if not 0.0 <= args.mixup <= 1.0:
        print(f"clinaudio detect-train: --mixup {args.mixup}: must be within 0 ... 1", file=sys.stderr)
        return 2
    if args.mixup and args.retune:
        print("clinaudio detect-train: --mixup is for training: --retune does not train", file=sys.stderr)
        return 2
    if args.mixup and args.edge_loss:
        print("clinaudio detect-train: --mixup mixes the inputs: the --edge-loss head's targets would not be mixed",
              file=sys.stderr)
        return 2
    if args.workers < 1:
        print(f"clinaudio detect-train: --workers {args.workers}: must be >= 1", file=sys.stderr)
        return 2
    if args.edge_head and args.retune and not args.proposals:
        print("clinaudio detect-train: --edge-head feeds the proposal decoder: with --retune it needs --proposals",
              file=sys.stderr)
        return 2
    if args.augment == "gan":
        if args.retune:
            print("clinaudio detect-train: --augment gan is for training: --retune does not train", file=sys.stderr)
            return 2
        if not args.gan_model:
            print("clinaudio detect-train: --augment gan needs --gan-model DIR", file=sys.stderr)
            return 2
        if not 0.0 < args.gan_share < 1.0:
            print(f"clinaudio detect-train: --gan-share {args.gan_share}: must be between 0 and 1", file=sys.stderr)
            return 2
        if args.gan_recordings is not None and args.gan_recordings < 1:
            print(f"clinaudio detect-train: --gan-recordings {args.gan_recordings}: must be >= 1", file=sys.stderr)
            return 2
    elif args.gan_model:
        print("clinaudio detect-train: --gan-model is used only with --augment gan", file=sys.stderr)
        return 2
    only = None if not args.only_folds else [int(x) for x in args.only_folds.split(",")]

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    if args.retune:
        from clinaudio_gui.engine.detector.train import retune_cv
        res = retune_cv(args.data, args.out, threads=args.threads, cache_dir=args.cache, only_folds=only,
                        event_head=args.event_head, keep_decoder=args.keep_decoder,
                        proposals=_search(args) if args.proposals else False,
                        edges=args.edge_head, log=log)
    else:
        res = run_cv(args.data, args.out, folds=args.folds, epochs=args.epochs, seed=args.seed,
                     threads=args.threads, cache_dir=args.cache, only_folds=only,
                     widths=[int(x) for x in args.widths.split(",")], crop=args.crop_frames, lr=args.lr,
                     init_from=args.init_from, boundary_weight=args.boundary_weight, device=args.device,
                     time_budget_s=None if args.time_budget_min is None else 60.0 * args.time_budget_min,
                     train_only=args.train_only, workers=args.workers, edges=args.edge_head,
                     inner=args.inner_split, edge_weight=args.edge_loss, swa=args.swa,
                     gan_model=args.gan_model if args.augment == "gan" else None,
                     gan_recordings=args.gan_recordings, gan_share=args.gan_share, train_seed=args.train_seed,
                     mixup=args.mixup, log=log)
    if args.bundle:
        import shlex
        from clinaudio_gui.engine.detector.summary import bundle_fold
        cmd = "clinaudio " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        dest = bundle_fold(args.out, args.bundle_fold, args.bundle, command=cmd)
        log(f"bundled fold {args.bundle_fold} as {dest}")
    print(json.dumps(res["mean_std"], indent=2))
    return 0


def register_detect(subparsers) -> None:
    d = subparsers.add_parser("detect", help="find respiratory sound events and the record label of recordings",
                              description="PATH: a recording or a folder (searched recursively). "
                                          "Events with start, end, label and calibrated confidence; the record "
                                          "label with per-class probabilities; a signal-quality verdict.")
    d.add_argument("paths", nargs="+", metavar="PATH")
    d.add_argument("--model", default=None, help="detector package folder (default: the bundled detector)")
    d.add_argument("--json", action="store_true", help="one JSON object per recording per line")
    d.add_argument("--workers", type=int, default=1, help="parallel processes (one torch thread each)")
    d.add_argument("--device", default="cpu")
    d.set_defaults(func=cmd_detect)


def _audio_files(paths) -> list[str]:
    from pathlib import Path

    from clinaudio_gui.core.errors import ClinAudioError
    from clinaudio_gui.io import is_audio_path
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out += sorted(str(f) for f in p.rglob("*") if f.is_file() and is_audio_path(f))
        elif p.exists():
            out.append(str(p))
        else:
            raise ClinAudioError("no such file or folder", path=p)
    return out


_WORKER = {}


def _init_worker(model, device):
    import torch
    torch.set_num_threads(1)
    from clinaudio_gui.engine.detector.infer import load_detector
    _WORKER["det"] = load_detector(model, device=device)


def _detect_one(path):
    from clinaudio_gui.core.errors import ClinAudioError
    try:
        return path, _WORKER["det"].detect_file(path), None
    except ClinAudioError as e:
        return path, None, e.format()
    except (ValueError, MemoryError, OSError) as e:
        return path, None, f"{path}: {e}"


def cmd_detect(args) -> int:
    from tqdm import tqdm
    files = _audio_files(args.paths)
    if not files:
        raise ValueError("no audio files found in " + ", ".join(args.paths))
    if args.workers < 1:
        raise ValueError(f"--workers {args.workers} must be >= 1")
    failed = 0
    bar = tqdm(total=len(files), unit="rec", file=sys.stderr, disable=len(files) < 2)
    if args.workers == 1:
        _init_worker(args.model, args.device)
        results = map(_detect_one, files)
        pool = None
    else:
        import multiprocessing as mp
        pool = mp.get_context("spawn").Pool(args.workers, initializer=_init_worker,
                                            initargs=(args.model, args.device))
        results = pool.imap(_detect_one, files, chunksize=4)
    try:
        for path, res, err in results:
            bar.update(1)
            if err:
                failed += 1
                bar.write(f"clinaudio: error: {err}", file=sys.stderr)
                continue
            if args.json:
                keep = ("audio", "duration_s", "record_label", "record_probabilities", "quality", "events", "model")
                print(json.dumps({k: res[k] for k in keep if k in res}), flush=True)
            else:
                if res["quality"] == "ok":
                    print(f"{path}: {res['record_label']}  (quality ok; "
                          + "  ".join(f"{k} {v:.2f}" for k, v in res["record_probabilities"].items()) + ")")
                else:
                    print(f"{path}: {res['record_label']}  (quality gate: {res['quality']}; not classified)")
                for e in res["events"]:
                    print(f"  {e['start_s']:7.2f} - {e['end_s']:7.2f} s  {e['label']:<15} {e['confidence']:.2f}")
    finally:
        bar.close()
        if pool is not None:
            pool.close()
            pool.join()
    return 2 if failed else 0
