"""`clinaudio gan train|sample` and `clinaudio study`: the conditional GAN and its augmentation study."""
from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("gan", help="class-conditional GAN of log-mel patches (train, sample)")
    sub = p.add_subparsers(dest="gan_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])

    t = sub.add_parser("train", help="train a conditional WGAN-GP (SE generator) on a labeled data set")
    t.add_argument("--data", required=True, help="data set folder (SPRSound JSON beside audio, or class folders)")
    t.add_argument("--out", required=True, help="model package folder to write")
    t.add_argument("--labels", choices=("events", "records"), default="events")
    t.add_argument("--no-se", action="store_true", help="ablation: no squeeze-and-excitation gates")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--steps-per-epoch", type=int, default=None,
                   help="generator steps per epoch (default: critic sees each example once)")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--n-critic", type=int, default=5)
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--g-channels", type=int, default=128, help="generator channels at 4x4 (halved per stage)")
    t.add_argument("--d-channels", type=int, default=16, help="critic channels of the first conv (doubled per stage)")
    t.add_argument("--max-per-class", type=int, default=None, help="keep at most this many examples per class")
    t.add_argument("--holdout-fold", type=int, default=None,
                   help="leave out patient-wise fold K of --folds (recorded in the manifest)")
    t.add_argument("--folds", type=int, default=5)
    t.add_argument("--exclude-patients-of", default=None, metavar="DETECTOR_FOLD_DIR",
                   help="leave out the test and inner-validation patients of this detector fold package (e.g. "
                        "runs/det_cv/fold0), so that the generator can augment that fold's detector training "
                        "(detect-train --augment gan) without seeing the patients it is chosen and scored on")
    t.add_argument("--max-minutes", type=float, default=None, help="stop (and package) after this time")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    t.add_argument("--cache", default="runs/gan_cache", help="feature cache folder ('' = none)")
    t.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint in --out")
    t.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint and fail if there is none or it does not match "
                        "(without either flag a matching checkpoint is resumed)")
    t.add_argument("--generator", choices=("cbn", "input"), default="cbn",
                   help="cbn: conditional batch norm in every block (default); input: class only at the input "
                        "(the session-1 generator)")
    t.add_argument("--ac-weight", type=float, default=1.0,
                   help="weight of the auxiliary-classifier (AC-GAN) term on the critic (0 = off)")
    t.add_argument("--diffaug", default="translation,cutout",
                   help="DiffAugment policy for real and fake before the critic ('' = off)")
    t.add_argument("--finetune-epochs", type=int, default=0,
                   help="the last N epochs draw classes with weight count**--finetune-balance (0 = uniform)")
    t.add_argument("--finetune-balance", type=float, default=0.0)
    t.add_argument("--init-from", default=None, metavar="MODEL_DIR",
                   help="start from this generator package (a plain generator is converted exactly into the "
                        "conditional-BN one; its normalisation is kept)")
    t.add_argument("--critic-warmup", type=int, default=0, metavar="STEPS",
                   help="critic-only steps before the first generator step of a new run (with --init-from the "
                        "critic starts from scratch: a package holds only the generator)")
    t.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                   help="keep an exponential moving average of the generator's weights with this decay (e.g. "
                        "0.999) and package it; the trained generator goes to OUT/raw (0 = off)")
    t.add_argument("--balance-power", type=float, default=0.5,
                   help="classes drawn with weight count**p during training (0 = uniform, 1 = as in the data)")
    t.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    t.set_defaults(func=_train)

    s = sub.add_parser("sample", help="generate log-mel patches (and audio) of one class")
    s.add_argument("--model", default=None, help="generator package (default: the bundled one)")
    s.add_argument("--label", required=True)
    s.add_argument("-n", type=int, default=8)
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--audio", action="store_true", help="also write .wav (see --vocoder)")
    s.add_argument("--vocoder", choices=("refined", "griffin-lim"), default="refined",   # sampler.VOCODERS
                   help="refined: fast Griffin-Lim then gradient descent towards the mel (default; closer "
                        "to the mel, bench/gan_vocoder_bench.py); griffin-lim: fast Griffin-Lim alone")
    s.add_argument("--truncation", type=float, default=None, help="truncation trick: latents with |z| <= T")
    s.add_argument("--duration", type=float, default=None, metavar="S",
                   help="patches of S seconds (generator outputs tiled along time with a cross-fade)")
    s.add_argument("--filter", type=float, default=None, metavar="P",
                   help="keep only patches that a classifier trained on the generator's real training "
                        "patients (from --data) assigns to the class with probability >= P")
    s.add_argument("--data", default=None, help="the generator's training data set (for --filter)")
    s.add_argument("--cache", default="runs/gan_cache")
    s.add_argument("--device", default="cpu")
    s.set_defaults(func=_sample)

    q = sub.add_parser("fid", help="per-class Frechet distance of generators to real data on classifier embeddings")
    q.add_argument("--data", required=True)
    q.add_argument("--models", nargs="+", required=True,
                   help="generator package folders (same classes); a variant is DIR@trunc=T (truncation trick) "
                        "or DIR@filter=P (kept only when the real-data CNN of the generator's training patients "
                        "gives the class probability >= P), e.g. models/gan-sprsound-events@filter=0.5")
    q.add_argument("--labels", choices=("events", "records"), default="events")
    q.add_argument("--n-per-class", type=int, default=100)
    q.add_argument("--embedder", choices=("auto", "classifier", "studycnn"), default="auto",
                   help="auto: the bundled 1-2 classifier if installed, else the StudyCNN fallback")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--threads", type=int, default=None)
    q.add_argument("--cache", default="runs/gan_cache")
    q.add_argument("--json", action="store_true")
    q.add_argument("--truncation", type=float, default=None, help="sample with the truncation trick (|z| <= T)")
    q.add_argument("--no-nn", action="store_true",
                   help="skip the nearest-neighbour (memorisation) distances to the training patches")
    q.set_defaults(func=_fid)

    st = subparsers.add_parser("study", help="compare augmentation strategies with one classifier (macro F1, "
                                             "SPRSound score, mean +- std over folds)")
    st.add_argument("--data", required=True)
    st.add_argument("--task", default="1-2", help="1-1, 1-2, 2-1, 2-2 (SPRSound) or 'folders' (class folders)")
    st.add_argument("--strategies", default="none,naa,taa,gan",
                    help="comma list of none, naa, taa, gan, naa+gan (half naa, half gan copies)")
    st.add_argument("--seeds", type=int, default=1, help="classifier seeds per fold (paired runs)")
    st.add_argument("--gan-filter", type=float, default=None, metavar="P",
                    help="keep only GAN patches the real-data classifier of the training fold assigns to "
                         "their class with probability >= P")
    st.add_argument("--gan-truncation", type=float, default=None, help="sample the GAN with |z| <= T")
    st.add_argument("--folds", type=int, default=5)
    st.add_argument("--run-folds", default=None, help="only these fold numbers, e.g. '1,2' (default all)")
    st.add_argument("--epochs", type=int, default=8)
    st.add_argument("--max-per-class", type=int, default=None)
    st.add_argument("--gan-model", default=None,
                    help="pretrained generator for the gan strategy (used only on folds whose validation "
                         "patients it never saw); otherwise a GAN is trained per fold")
    st.add_argument("--gan-minutes", type=float, default=3.0, help="per-fold GAN training budget")
    st.add_argument("--gan-steps", type=int, default=None, help="per-fold GAN generator steps (overrides minutes)")
    st.add_argument("--gan-dir", default=None,
                    help="keep each fold's GAN in DIR/fold-K and reuse it when trained on the same patients "
                         "with the same budget (so other strategies or classifier budgets can be rerun cheaply)")
    st.add_argument("--synthetic-ratio", type=float, default=0.5,
                    help="synthetic examples per real training example (gan strategy)")
    st.add_argument("--synthetic-schedule", choices=("mixed", "real-last", "decay"), default="mixed",
                    help="how augmented examples are drawn in training: mixed (join the pool at every step), "
                         "real-last (whole pool in the first half of the steps, real examples only in the "
                         "second), decay (their share falls linearly to 0)")
    st.add_argument("--seed", type=int, default=0)
    st.add_argument("--threads", type=int, default=None)
    st.add_argument("--cache", default="runs/gan_cache")
    st.add_argument("--device", default=None)
    st.add_argument("--json", action="store_true", help="print one JSON object")
    st.set_defaults(func=_study)


def _threads(n):
    import torch
    if n:
        torch.set_num_threads(int(n))


def _command_line(args) -> str:
    """The training command as a user would type it (from the parsed arguments, not sys.argv,
    so it is right whether called from a shell, -m or a test)."""
    parts = ["clinaudio", "gan", "train", "--data", str(args.data), "--out", str(args.out)]
    skip = {"data", "out", "func", "command", "gan_command", "resume", "no_resume"}
    for k, v in sorted(vars(args).items()):
        if k in skip or v is None or v is False:
            continue
        flag = "--" + k.replace("_", "-")
        parts += [flag] if v is True else [flag, str(v)]
    return " ".join(shlex.quote(p) for p in parts)


def _train(args) -> int:
    if args.critic_warmup < 0:   # before the data is read
        raise ValueError(f"--critic-warmup {args.critic_warmup}: the number of critic-only steps must be >= 0")
    _threads(args.threads)
    from clinaudio_gui.engine.gan.train import train_gan
    from clinaudio_gui.engine.gan.data import class_list, load_examples
    from clinaudio_gui.engine.study.study import patient_folds
    t0 = time.monotonic()
    exs, feat, layout = load_examples(args.data, labels=args.labels, max_per_class=args.max_per_class,
                                      seed=args.seed, cache_dir=args.cache or None,
                                      progress=lambda i, n: print(f"\rfeatures {i}/{n}", end="", file=sys.stderr))
    print(f"\nloaded {len(exs)} examples in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    extra = {"training_data": {"folder": str(Path(args.data).resolve()), "labels": args.labels,
                               "layout": layout},
             "command": _command_line(args)}
    if args.holdout_fold is not None:
        folds = patient_folds(exs, args.folds, seed=args.seed)
        held = {e.patient for e, f in zip(exs, folds) if f == args.holdout_fold}
        exs = [e for e, f in zip(exs, folds) if f != args.holdout_fold]
        extra["holdout"] = {"folds": args.folds, "fold": args.holdout_fold, "seed": args.seed,
                            "patients": sorted(p for p in held if p)}
    if args.exclude_patients_of:
        from clinaudio_gui.engine.detector.gan_aug import fold_patients_to_exclude
        excl, src = fold_patients_to_exclude(args.exclude_patients_of)
        n0 = len(exs)
        exs = [e for e in exs if e.patient not in excl]
        extra["excluded_patients"] = {"source": src, "patients": sorted(excl)}
        print(f"left out {n0 - len(exs)} examples of {len(excl)} patients of {src}", file=sys.stderr)
    extra["training_patients"] = sorted({e.patient for e in exs if e.patient})
    classes = class_list(exs, layout=layout, labels=args.labels)
    print(f"classes: " + ", ".join(f"{c} ({sum(e.label == c for e in exs)})" for c in classes), file=sys.stderr)

    def prog(d):
        if "epoch_done" in d:
            print(f"\repoch {d['epoch_done']}/{d['epochs']}  d_loss {d['d_loss']:.3f}  g_loss {d['g_loss']:.3f}  "
                  f"W {d['w_dist']:.3f}  gp {d['gp']:.3f}  {d['elapsed_s']:.0f} s", file=sys.stderr, flush=True)
        else:
            print(f"\repoch {d['epoch']}/{d['epochs']} step {d['step']}/{d['steps']}  W {d['w_dist']:.3f}  "
                  f"{d['elapsed_s']:.0f} s", end="", file=sys.stderr, flush=True)

    out = train_gan(exs, classes, feat, out_dir=args.out, se=not args.no_se, epochs=args.epochs,
                    steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size, n_critic=args.n_critic,
                    lr=args.lr, g_channels=args.g_channels, d_channels=args.d_channels, seed=args.seed,
                    device=args.device, resume=not args.no_resume, require_checkpoint=args.resume,
                    generator={"cbn": "CBNGenerator", "input": "Generator"}[args.generator],
                    ac_weight=args.ac_weight, diffaug=tuple(x.strip() for x in args.diffaug.split(",") if x.strip()),
                    finetune_epochs=args.finetune_epochs, finetune_balance=args.finetune_balance,
                    balance_power=args.balance_power, init_from=args.init_from,
                    critic_warmup=args.critic_warmup, ema_decay=args.ema,
                    max_seconds=args.max_minutes * 60 if args.max_minutes else None,
                    extra_manifest=extra, progress=prog)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def _sample(args) -> int:
    import numpy as np
    from clinaudio_gui.core.atomic import atomic_write_text
    from clinaudio_gui.engine.gan.sampler import GanSampler
    if args.n < 1:
        raise ValueError(f"-n {args.n} must be >= 1")
    s = GanSampler.load(args.model, device=args.device)
    label = s.classes[s.class_index(args.label)]
    stats = None
    if args.filter is not None:
        if not args.data:
            raise ValueError("--filter needs --data (the generator's training data set)")
        if args.duration:
            raise ValueError("--filter works on single generator outputs; leave out --duration")
        from clinaudio_gui.engine.gan.data import load_examples
        from clinaudio_gui.engine.gan.filtering import filtered_samples
        from clinaudio_gui.engine.study.embedders import StudyCnnEmbedder
        exs, feat, _ = load_examples(args.data, labels="events", features=s.features, cache_dir=args.cache or None)
        seen = set(s.manifest.get("training_patients") or [])
        if seen:
            exs = [e for e in exs if e.patient in seen]
        clf = StudyCnnEmbedder([e for e in exs if e.label in s.classes], s.classes, feat, seed=args.seed)
        imgs, stats = filtered_samples(s, label, args.n, clf.probabilities, threshold=args.filter, seed=args.seed,
                                       truncation=args.truncation)
        print(f"filter: kept {stats['kept']} of {stats['drawn']} drawn (acceptance {stats['acceptance']:.2f})",
              file=sys.stderr)
    elif args.duration:
        imgs = s.sample_long(label, args.n, args.duration, seed=args.seed, truncation=args.truncation)
    else:
        imgs = s.sample(label, args.n, seed=args.seed, truncation=args.truncation)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() else "_" for ch in label)
    rows = []
    for i, img in enumerate(imgs):
        stem = f"gan_{safe}_s{args.seed}_{i:04d}"
        tmp = out / (stem + ".tmp.npy")
        np.save(tmp, img)
        tmp.replace(out / (stem + ".npy"))
        row = {"file": stem + ".npy", "label": label, "seed": args.seed, "index": i}
        if args.audio:
            from clinaudio_gui.io import write_audio
            y = s.to_audio(img, vocoder=args.vocoder)
            write_audio(out / (stem + ".wav"), y, s.features["sample_rate_hz"])
            row["audio"] = stem + ".wav"
        rows.append(row)
    atomic_write_text(out / "labels.json", json.dumps({"generator": str(Path(args.model).resolve()) if args.model
                                                      else "bundled:gan-sprsound-events",
                                                      "features": s.features, "truncation": args.truncation,
                                                      "vocoder": args.vocoder if args.audio else None,
                                                      "filter": stats, "samples": rows}, indent=1) + "\n")
    with open(out / "labels.csv.tmp", "w", encoding="utf-8") as f:
        f.write("file,label\n" + "".join(f"{r['file']},{r['label']}\n" for r in rows))
    (out / "labels.csv.tmp").replace(out / "labels.csv")
    print(f"wrote {len(rows)} samples of {label!r} to {out}")
    return 0


def _fid(args) -> int:
    _threads(args.threads)
    from clinaudio_gui.engine.gan.sampler import GanSampler
    from clinaudio_gui.engine.gan.data import load_examples
    from clinaudio_gui.engine.gan.quality import per_class_fd
    from clinaudio_gui.engine.study.embedders import ClassifierEmbedder, StudyCnnEmbedder
    from clinaudio_gui.engine.study.study import patient_folds
    specs = [_model_spec(m) for m in args.models]
    loaded = {d: GanSampler.load(d) for d in dict.fromkeys(d for d, _ in specs)}
    first = loaded[specs[0][0]]
    exs, feat, _ = load_examples(args.data, labels=args.labels, features=first.features,
                                 cache_dir=args.cache or None)
    hold = first.manifest.get("holdout")
    if hold:
        folds = patient_folds(exs, hold["folds"], seed=hold["seed"])
        train = [e for e, f in zip(exs, folds) if f != hold["fold"]]
        held = [e for e, f in zip(exs, folds) if f == hold["fold"]]
    else:
        train, held = exs, []
    embedder = None
    if args.embedder in ("auto", "classifier"):
        try:
            embedder = ClassifierEmbedder("1-2")
        except Exception as e:  # noqa: BLE001 - fall back only in auto mode
            if args.embedder == "classifier":
                raise
            print(f"no bundled classifier ({e}); using the StudyCNN fallback", file=sys.stderr)
    if embedder is None:
        embedder = StudyCnnEmbedder(train, first.classes, feat, seed=args.seed)
    samplers = {}
    for m, (d, opts) in zip(args.models, specs):
        name = Path(d).name + (m[m.index("@"):] if "@" in m else "")
        s = loaded[d]
        if "filter" in opts:
            from clinaudio_gui.engine.study.embedders import StudyCnnEmbedder
            seen = set(s.manifest.get("training_patients") or [])
            pool = [e for e in train if e.label in s.classes and (not seen or e.patient in seen)]
            s = _Filtered(s, StudyCnnEmbedder(pool, s.classes, feat, seed=args.seed).probabilities, opts["filter"],
                          opts.get("trunc", args.truncation))
        elif "trunc" in opts or args.truncation is not None:
            s = _Truncated(s, opts.get("trunc", args.truncation))
        samplers[name] = s
    res = per_class_fd(samplers, train, held, feat, embedder, n_per_class=args.n_per_class, seed=args.seed,
                       log=lambda m: print(m, file=sys.stderr, flush=True))
    nn = None
    if not args.no_nn:
        from clinaudio_gui.engine.gan.filtering import nn_report
        nn = nn_report(samplers, train, held, n_per_class=args.n_per_class, seed=args.seed,
                       log=lambda m: print(m, file=sys.stderr, flush=True))
    out = {"embedder": embedder.name, "embedder_description": embedder.description,
           "models": {k: str(Path(d).resolve()) for k, (d, _) in zip(samplers, specs)},
           "filter_stats": {k: v.stats for k, v in samplers.items() if isinstance(v, _Filtered)},
           "n_per_class": args.n_per_class, "per_class": res,
           "mean_fd": {k: float(sum(r["fd"][k] for r in res.values()) / max(1, len(res))) for k in samplers},
           "mean_agreement": {k: float(sum(r["agreement"][k] for r in res.values()) / max(1, len(res)))
                              for k in samplers},
           "mean_agreement_real": float(sum(r["agreement_real"] for r in res.values()) / max(1, len(res))),
           "truncation": args.truncation, "nearest_neighbour": nn}
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        for c, r in res.items():
            print(f"{c:<16} " + "  ".join(f"{k} {v:8.2f}" for k, v in r["fd"].items())
                  + (f"  real-heldout {r['fd_real_heldout']:8.2f}" if "fd_real_heldout" in r else ""))
        print("mean             " + "  ".join(f"{k} {v:8.2f}" for k, v in out["mean_fd"].items()))
        print("class agreement  " + "  ".join(f"{k} {v:8.2f}" for k, v in out["mean_agreement"].items())
              + f"  real {out['mean_agreement_real']:.2f}")
        if nn:
            print("nearest-neighbour distance to training patches (median RMS of standardised mel; "
                  "generated below real held-out would mean copies):")
            for c, r in nn.items():
                print(f"  {c:<16} " + "  ".join(f"{k} {v['median']:.3f}" for k, v in r.items()))
        print(f"embedder: {out['embedder_description']}")
    return 0


class _Truncated:
    """A sampler that always samples with the truncation trick (for `gan fid --truncation`)."""

    def __init__(self, sampler, t: float | None):
        self._s, self._t = sampler, t

    def __getattr__(self, name):
        return getattr(self._s, name)

    def sample(self, label, n, *, seed=0, truncation=None):
        return self._s.sample(label, n, seed=seed, truncation=self._t)


def _model_spec(text: str) -> tuple[str, dict]:
    """'DIR' or 'DIR@trunc=0.7' / 'DIR@filter=0.5' (options joined by ',')."""
    if "@" not in text:
        return text, {}
    d, opt = text.split("@", 1)
    out = {}
    for kv in opt.split(","):
        k, _, v = kv.partition("=")
        if k not in ("trunc", "filter"):
            raise ValueError(f"--models {text!r}: unknown option {k!r} (trunc=T or filter=P)")
        out[k] = float(v)
    return d, out


class _Filtered(_Truncated):
    """A sampler whose samples are filtered by a real-data classifier (for `gan fid`)."""

    def __init__(self, sampler, classify, threshold: float, truncation=None):
        super().__init__(sampler, truncation)
        self._classify, self._thr, self.stats = classify, threshold, {}

    def sample(self, label, n, *, seed=0, truncation=None):
        import numpy as np
        from clinaudio_gui.engine.gan.filtering import filtered_samples
        imgs, st = filtered_samples(self._s, label, n, self._classify, threshold=self._thr, seed=seed,
                                    truncation=self._t)
        self.stats[label] = st
        if len(imgs) < 2:  # the Frechet distance needs two; say so instead of failing
            imgs = np.concatenate([imgs, self._s.sample(label, 2 - len(imgs), seed=seed + 999)]) if len(imgs) else \
                self._s.sample(label, 2, seed=seed + 999)
            st["padded_unfiltered"] = True
        return imgs


def _study(args) -> int:
    _threads(args.threads)
    from clinaudio_gui.engine.study.study import format_table, run_study
    res = run_study(args.data, task=args.task, strategies=[s.strip() for s in args.strategies.split(",") if s.strip()],
                    folds=args.folds, run_folds=[int(x) for x in args.run_folds.split(",")] if args.run_folds else None,
                    epochs=args.epochs, max_per_class=args.max_per_class, gan_model=args.gan_model,
                    gan_minutes=args.gan_minutes, gan_steps=args.gan_steps, synthetic_ratio=args.synthetic_ratio,
                    seed=args.seed, cache_dir=args.cache or None, gan_dir=args.gan_dir, device=args.device,
                    gan_filter=args.gan_filter, gan_truncation=args.gan_truncation, seeds=args.seeds,
                    synthetic_schedule=args.synthetic_schedule, log=lambda m: print(m, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print(format_table(res))
    return 0
