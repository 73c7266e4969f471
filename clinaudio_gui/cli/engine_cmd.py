"""`clinaudio train | evaluate | classify | baseline`: the respiratory classifier from the command line."""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

TASK_CHOICES = ("1-1", "1-2", "2-1", "2-2")


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a respiratory classifier (SPRSound tasks)",
                              description="Train on a folder of recordings with SPRSound JSON labels; "
                                          "patient-wise validation split; writes a model package. "
                                          "Launch with torchrun for DistributedDataParallel.")
    p.add_argument("--task", required=True, choices=TASK_CHOICES)
    p.add_argument("--data", required=True, help="folder of NAME.wav/.flac + NAME.json")
    p.add_argument("--out", required=True, help="model package folder to write")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (CUDA when available)")
    p.add_argument("--augment", default=None, metavar="RECIPE",
                   help="extra training items for the minority classes: an audio recipe (built-in naa or a "
                        "JSON file) makes augmented copies of real items; gan adds synthetic clips of those "
                        "classes from a generator package (its mel patches vocoded by Griffin-Lim); naa+gan "
                        "does both. Validation items are never augmented")
    p.add_argument("--gan-model", default=None, metavar="DIR",
                   help="generator package for --augment gan / naa+gan (default: the bundled "
                        "models/gan-sprsound-events, event classes: tasks 1-1 / 1-2)")
    p.add_argument("--gan-ratio", type=float, default=0.5, metavar="R",
                   help="synthetic items per real training item of each minority class (default 0.5)")
    p.add_argument("--gan-seed", type=int, default=0, help="latent seed of the synthetic items (same seed, same items)")
    p.add_argument("--val-from-gan", action="store_true",
                   help="validate on exactly the patients the generator (--gan-model, default the bundled one) "
                        "did not train on (its manifest's training_patients), train on all others, so its "
                        "synthetic items carry no validation patient's sounds; with any --augment, so that "
                        "none / naa / gan / naa+gan models share one split (--val-fraction is then unused)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--classes", choices=("fine", "task"), default="fine",
                   help="train on the fine classes (7 events / 5 records, merged into the task's) "
                        "or on the task's classes directly")
    p.add_argument("--max-items", type=int, default=None, help="use at most N items per part (smoke runs)")
    p.add_argument("--max-batches", type=int, default=None, help="at most N batches per epoch (smoke runs)")
    p.add_argument("--cap-per-class", type=int, default=None,
                   help="each epoch uses at most N random items of each class (cheaper epochs)")
    p.add_argument("--widths", default="16,32,64", help="channel widths of the three Inception-residual stages")
    p.add_argument("--derive-from", default=None, metavar="MODEL_DIR",
                   help="no training: package MODEL_DIR (a 7-class event / 5-class record model) for the "
                        "coarser --task (1-1 / 2-1) by summing classes; metrics on its held-out patients")
    p.add_argument("--cache", default=None, help="feature cache folder (default runs/cache)")
    p.set_defaults(func=cmd_train)

    e = subparsers.add_parser("evaluate", help="event metrics (sed_eval) or SPRSound task scores on labelled recordings",
                              description="--task events: event-based F / error rate (sed_eval, t_collar 0.2 s, "
                                          "offset max(0.2 s, 20 %%)) and 1 s segment F1 of the detector; "
                                          "--task 1-1/1-2/2-1/2-2: SPRSound SE/SP/AS/HS/Score. The bundled "
                                          "detector by default; --model a detector or classifier package.")
    e.add_argument("--model", help="model package folder (detector or classifier)")
    e.add_argument("--task", choices=TASK_CHOICES + ("events",), default=None,
                   help="events or an SPRSound task (default: events for a detector, the package's task for "
                        "a classifier)")
    e.add_argument("--data", required=True, help="folder of NAME.wav/.flac + NAME.json")
    e.add_argument("--split", choices=("all", "val", "train"), default="all",
                   help="'val': only the patients the model's manifest held out")
    e.add_argument("--device", default="auto")
    e.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: on small shared machines more threads oversubscribe)")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=cmd_evaluate)

    c = subparsers.add_parser("classify", help="classify one recording (record label + events)")
    c.add_argument("audio")
    c.add_argument("--model", help="model package folder (default: the bundled detector)")
    c.add_argument("--task", choices=TASK_CHOICES,
                   help="the SPRSound task whose classes the answer uses (default 2-2 for the detector; for "
                        "a classifier without --model: the bundled classifier of that task)")
    c.add_argument("--hop", type=float, default=None, help="sliding-window hop in s (event models)")
    c.add_argument("--device", default="auto")
    c.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: on small shared machines more threads oversubscribe)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_classify)

    b = subparsers.add_parser("baseline", help="40-MFCC mean+std, class-balanced RBF SVM on the same split")
    b.add_argument("--task", required=True, choices=TASK_CHOICES)
    b.add_argument("--data", required=True)
    b.add_argument("--val-fraction", type=float, default=0.2)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_baseline)


def cmd_train(args) -> int:
    from clinaudio_gui.engine.classifier.train import train_classifier
    if args.epochs < 1:
        raise ValueError(f"--epochs {args.epochs} must be >= 1")
    command = "clinaudio " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else None

    def log(msg):
        print(msg, flush=True)

    if args.derive_from:
        from clinaudio_gui.engine.classifier.train import derive_package
        _set_threads(args.threads or 1)
        derive_package(args.derive_from, args.task, args.out, data_dir=args.data, command=command, log=log)
        return 0
    gan = _gan_augment(args)
    split_gen = None
    if args.val_from_gan:   # the split's generator: the augmenting one, else loaded for its manifest only
        sampler, folder = (gan.sampler, gan.model_dir) if gan is not None else _load_generator(args)
        split_gen = (folder, sampler.manifest)
    train_classifier(task=args.task, data_dir=args.data, out_dir=args.out, epochs=args.epochs,
                     device=args.device, augment=args.augment, gan=gan, val_from_gan=args.val_from_gan,
                     split_generator=split_gen,
                     batch_size=args.batch_size, lr=args.lr,
                     threads=args.threads, val_fraction=args.val_fraction, seed=args.seed,
                     output_level_labels=args.classes, max_items=args.max_items,
                     max_batches=args.max_batches, cache_dir=args.cache, command=command, log=log,
                     cap_per_class=args.cap_per_class, widths=_widths(args.widths))
    return 0


def _gan_augment(args):
    """The loaded generator for --augment gan / RECIPE+gan (None otherwise); a folder that is not a
    generator package is a one-line error naming it, before anything is written."""
    from clinaudio_gui.engine.classifier.gan_items import GanAugment, split_strategy
    _, uses_gan = split_strategy(args.augment)
    if not uses_gan:
        if args.gan_model and not args.val_from_gan:
            raise ValueError(f"--gan-model {args.gan_model} needs --augment gan or naa+gan (or --val-from-gan)")
        return None
    sampler, folder = _load_generator(args)
    return GanAugment(sampler, str(folder), ratio=args.gan_ratio, seed=args.gan_seed)


def _load_generator(args):
    """(the GanSampler of --gan-model, default the bundled generator, its folder as a string); a
    folder that is not a generator package is a one-line error naming it."""
    from clinaudio_gui.core.errors import ModelPackageError
    from clinaudio_gui.engine.gan.sampler import GanSampler, default_model_dir
    folder = Path(args.gan_model) if args.gan_model else default_model_dir()
    if not folder.is_dir():
        raise ModelPackageError("--gan-model: no such folder", path=folder)
    try:
        sampler = GanSampler.load(folder, device="cpu")
    except ModelPackageError as e:
        raise ModelPackageError(f"--gan-model is not a generator package ({e.problem})", path=folder) from None
    return sampler, str(folder)


def _widths(text: str) -> tuple:
    try:
        w = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--widths {text!r} must be three integers like 16,32,64") from None
    if len(w) != 3 or min(w) < 4:
        raise ValueError(f"--widths {text!r} must be three integers >= 4 like 16,32,64")
    return w


def _print_metrics(m: dict) -> None:
    print(f"task {m['task']}  n={m['n']}  SE {m['se']:.4f}  SP {m['sp']:.4f}  AS {m['as']:.4f}  "
          f"HS {m['hs']:.4f}  Score {m['score']:.4f}  macro-F1 {m['macro_f1']:.4f}")
    w = max(len(x) for x in m["labels"])
    print("confusion (rows true, columns predicted):")
    print(" " * (w + 2) + " ".join(f"{i:>6d}" for i in range(len(m["labels"]))))
    for i, (lab, row) in enumerate(zip(m["labels"], m["confusion"])):
        print(f"{lab:>{w}} {i}" + " ".join(f"{v:>6d}" for v in row))


def _set_threads(n) -> None:
    import torch
    if n is not None:
        if n < 1:
            raise ValueError(f"--threads {n} must be >= 1")
        torch.set_num_threads(int(n))


def cmd_evaluate(args) -> int:
    _set_threads(args.threads)
    from clinaudio_gui.engine.common.package import read_manifest
    if args.model is None and args.task is None:
        raise ValueError("give --task (events, 1-1, 1-2, 2-1, 2-2) or --model")
    if args.model is None or read_manifest(args.model)["kind"] == "detector":
        return _evaluate_detector(args)
    from clinaudio_gui.engine.classifier.evaluate import evaluate_classifier
    from clinaudio_gui.engine.classifier.inference import Classifier
    clf = Classifier.load(args.model, task=args.task if not args.model else None, device=args.device)
    m = evaluate_classifier(clf, args.data, split=args.split)
    if args.json:
        print(json.dumps(m))
    else:
        _print_metrics(m)
    return 0


def _classify_detector(args) -> int:
    """The bundled default: the detector's record label (merged into --task's classes for 2-1)
    and its events (merged into Normal / Adventitious for 1-1)."""
    from clinaudio_gui.engine.detector.infer import load_detector
    from clinaudio_gui.engine.detector.scoring import task_view
    det = load_detector(args.model, device="cpu" if args.device == "auto" else args.device)
    r = task_view(det.detect_file(args.audio), args.task or "2-2")
    return _print_classification(r, args)


def _evaluate_detector(args) -> int:
    from tqdm import tqdm

    from clinaudio_gui.engine.detector.evaluate import evaluate_detector
    from clinaudio_gui.engine.detector.infer import load_detector
    det = load_detector(args.model, device="cpu" if args.device == "auto" else args.device)
    bar = tqdm(unit="rec", file=sys.stderr, disable=None)

    def progress(i, n):
        bar.total = n
        bar.update(1)

    m = evaluate_detector(det, args.data, task=args.task or "events", split=args.split, progress=progress)
    bar.close()
    if args.json:
        print(json.dumps(m))
    elif "event_based" in m:
        eb, sb = m["event_based"], m["segment_based"]
        print(f"{m['n_recordings']} recordings, {m['n_reference_events']} reference / "
              f"{m['n_estimated_events']} detected events (Normal not counted; crackles merged)")
        print(f"event-based  micro F {eb['micro']['f']:.4f}  ER {eb['micro']['error_rate']:.4f}   "
              f"macro F {eb['macro']['f'] if eb['macro']['f'] is not None else float('nan'):.4f}")
        for k, v in eb["per_class"].items():
            print(f"  {k:<10} F {v['f'] if v['f'] is not None else float('nan'):.4f}  ref {v['n_ref']}  est {v['n_est']}")
        print(f"segment-based (1 s) micro F1 {sb['micro']['f']:.4f}")
    else:
        _print_metrics(m)
    return 0


def cmd_classify(args) -> int:
    _set_threads(args.threads)
    from clinaudio_gui.engine.common.package import read_manifest
    if args.model is None or read_manifest(args.model)["kind"] == "detector":
        return _classify_detector(args)
    from clinaudio_gui.engine.classifier.inference import Classifier
    from clinaudio_gui.io import read_audio
    clf = Classifier.load(args.model, task=(args.task or "1-2") if not args.model else None, device=args.device)
    y, sr = read_audio(args.audio)
    r = clf.classify_recording(y, sr, hop_s=args.hop)
    return _print_classification(r, args)


def _print_classification(r: dict, args) -> int:
    """One JSON object, or the label line, the probabilities and one line per event."""
    r["audio"] = str(Path(args.audio))
    if args.json:
        print(json.dumps(r))
        return 0
    quality = f"  quality {r['quality']}" if "quality" in r else ""
    print(f"{r['audio']}: {r['record_label']} ({r['confidence']:.2f})  task {r['task']}{quality}")
    print("  " + "  ".join(f"{k} {v:.2f}" for k, v in r["probabilities"].items()))
    for e in r["events"]:
        print(f"  {e['start_s']:7.2f} - {e['end_s']:7.2f} s  {e['label']:<15} {e['confidence']:.2f}")
    return 0


def cmd_baseline(args) -> int:
    from clinaudio_gui.engine.classifier.baseline import run_baseline
    m = run_baseline(task=args.task, data_dir=args.data, val_fraction=args.val_fraction, seed=args.seed)
    if args.json:
        print(json.dumps(m))
    else:
        _print_metrics(m)
    return 0
