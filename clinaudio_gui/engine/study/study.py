"""Augmentation study: the same compact classifier trained with each augmentation strategy."""
from __future__ import annotations

import numpy as np

from clinaudio_gui.engine.gan.data import Example


def patient_folds(examples: list[Example], k: int, *, seed: int = 0) -> list[int]:
    """Fold number (1..k) per example. Predefined folds (ESC-10 file names) win; else patient-wise
    folds stratified greedily so that rare classes spread over folds; examples without a patient
    are their own group."""
    if k < 2:
        raise ValueError(f"folds={k} must be >= 2")
    if all(e.fold is not None for e in examples):
        return [int(e.fold) for e in examples]
    groups: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        groups.setdefault(e.patient if e.patient else f"__ex{i}", []).append(i)
    labels = sorted({e.label for e in examples})
    li = {c: j for j, c in enumerate(labels)}
    total = np.zeros(len(labels))
    for e in examples:
        total[li[e.label]] += 1
    rng = np.random.default_rng(seed)
    names = list(groups)
    rng.shuffle(names)
    vecs = {}
    for g in names:
        v = np.zeros(len(labels))
        for i in groups[g]:
            v[li[examples[i].label]] += 1
        vecs[g] = v / total
    # rarest-class-heavy groups first, so they get spread before the bulk fills the folds
    names.sort(key=lambda g: -float(vecs[g].max()))
    load = np.zeros((k, len(labels)))
    assign: dict[str, int] = {}
    for g in names:
        cost = [float((2 * load[f] * vecs[g] + vecs[g] ** 2).sum() + 1e-3 * load[f].sum()) for f in range(k)]
        f = int(np.argmin(cost))
        load[f] += vecs[g]
        assign[g] = f + 1
    out = [0] * len(examples)
    for g, idx in groups.items():
        for i in idx:
            out[i] = assign[g]
    return out


# ---------------------------------------------------------------------------------------------
# the study

import math  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from clinaudio_gui.engine.gan.data import crop, load_examples, mel_db  # noqa: E402

STRATEGIES = ("none", "naa", "taa", "gan", "naa+gan")
RARE_EVENT_CLASSES = ("Stridor", "Wheeze+Crackle", "Rhonchi", "Coarse Crackle")
CLASSIFIER_DOC = ("StudyCNN: log-mel patch (1 x 64 x 64, per-band standardized with training-fold statistics) -> "
                  "4 x [conv3x3-BN-ReLU-maxpool2] with 16/32/64/64 channels -> global average pool -> dropout 0.3 "
                  "-> linear; Adam 1e-3, batch 64, cross-entropy with inverse-sqrt class weights, random 64-frame "
                  "crops; evaluation averages logits over up to 4 crops of an event or clip")


class StudyCNN(nn.Module):
    """The compact log-mel CNN every strategy trains (identical architecture, seed and step budget)."""

    def __init__(self, n_classes: int, *, channels: tuple[int, ...] = (16, 32, 64, 64)):
        super().__init__()
        layers, c_in = [], 1
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(c_in, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.embed(x)))


def task_mapping(task: str, layout: str) -> tuple[str, list[str], dict[str, str]]:
    """(label level 'events'|'records', task labels, raw label -> task label)."""
    if layout == "folders" or task == "folders":
        return "records", [], {}
    from clinaudio_gui.engine.common import data as D
    if task not in D.TASKS:
        raise ValueError(f"task={task!r} is not one of {', '.join(D.TASKS)} (or 'folders')")
    spec = D.TASKS[task]
    raw_to_task = {raw: lab for lab, raws in spec["merge"].items() for raw in raws}
    return ("events" if spec["level"] == "event" else "records"), list(spec["labels"]), raw_to_task


def _metrics(y_true, y_pred, labels):
    try:
        from clinaudio_gui.engine.common.metrics import all_metrics
        return all_metrics(y_true, y_pred, labels)
    except ImportError:  # pragma: no cover - metrics module is part of the engine
        raise


def _eval_crops(img: np.ndarray, frames: int, max_crops: int = 4) -> np.ndarray:
    total = img.shape[1]
    if total <= frames:
        return crop(img, frames, None)[None]
    n = min(max_crops, int(math.ceil(total / frames)))
    offs = np.linspace(0, total - frames, n).round().astype(int)
    return np.stack([img[:, o:o + frames] for o in offs])


SCHEDULES = ("mixed", "real-last", "decay")


def batch_indices(rng: np.random.Generator, n_pool: int, n_real: int, size: int, step: int, steps: int,
                  schedule: str = "mixed") -> np.ndarray:
    """Pool indices of one batch; the pool holds the ``n_real`` real examples first, then the
    augmented ones. ``mixed``: uniform over the whole pool at every step (augmented items simply join
    the pool); ``real-last``: the whole pool in the first half of the steps, real examples only in the
    second (augmented data first, then the real data alone); ``decay``: an item is augmented with
    probability (augmented share of the pool) x (1 - step / steps), falling linearly to 0. Without
    augmented items every schedule draws exactly as ``mixed``."""
    if schedule not in SCHEDULES:
        raise ValueError(f"synthetic schedule {schedule!r} is not one of {', '.join(SCHEDULES)}")
    n_aug = n_pool - n_real
    if n_aug <= 0 or schedule == "mixed":
        return rng.integers(0, n_pool, size=size)
    if schedule == "real-last":
        return rng.integers(0, n_pool if step < steps // 2 else n_real, size=size)
    p = n_aug / n_pool * (1.0 - step / max(1, steps))
    aug = rng.random(size) < p
    return np.where(aug, n_real + rng.integers(0, n_aug, size=size), rng.integers(0, n_real, size=size))


def train_classifier(pool: list[tuple[np.ndarray, int]], n_classes: int, mean: np.ndarray, std: np.ndarray,
                     frames: int, *, steps: int, seed: int, device: torch.device, batch_size: int = 64,
                     lr: float = 1e-3, n_real: int | None = None, schedule: str = "mixed") -> StudyCNN:
    """The study CNN trained on ``pool`` (its first ``n_real`` items real, the rest augmented; None:
    all real) with the augmented items drawn by ``schedule`` (``batch_indices``)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = StudyCNN(n_classes).to(device)
    counts = np.bincount([c for _, c in pool], minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, 1.0 / np.sqrt(np.maximum(counts, 1)), 0.0)
    w = w / (w[counts > 0].mean())
    weight = torch.tensor(w, dtype=torch.float32, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(1, steps), pct_start=0.2)
    m, s = mean[:, None], std[:, None]
    model.train()
    n_real = len(pool) if n_real is None else n_real
    for step in range(steps):
        idx = batch_indices(rng, len(pool), n_real, min(batch_size, len(pool)), step, steps, schedule)
        xb = np.stack([(crop(pool[i][0], frames, rng) - m) / s for i in idx])[:, None].astype(np.float32)
        yb = torch.tensor([pool[i][1] for i in idx], device=device)
        loss = F.cross_entropy(model(torch.from_numpy(xb).to(device)), yb, weight=weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


@torch.no_grad()
def predict(model: StudyCNN, images: list[np.ndarray], mean: np.ndarray, std: np.ndarray, frames: int,
            device: torch.device) -> np.ndarray:
    out = []
    m, s = mean[:, None], std[:, None]
    for img in images:
        x = ((_eval_crops(img, frames) - m) / s)[:, None].astype(np.float32)
        out.append(int(model(torch.from_numpy(x).to(device)).mean(0).argmax()))
    return np.asarray(out)


def augmentation_plan(train_labels: list[int], n_classes: int, total: int) -> list[int]:
    """How many augmented examples per class: the same for every strategy, spread evenly over the
    classes present in the training fold (so rare classes get the most relative help)."""
    present = [c for c in range(n_classes) if c in set(train_labels)]
    per = [0] * n_classes
    for j in range(total):
        per[present[j % len(present)]] += 1
    return per


def _naa_copies(sources, plan, feat, layout, seed, log):
    from clinaudio_gui.augment import load_recipe, rng_for
    pipe = load_recipe("naa").pipeline
    out = []
    for c, n in enumerate(plan):
        src = [e for e in sources if e[1] == c]
        for j in range(n):
            ex = src[j % len(src)][0]
            y = ex.audio
            rng = rng_for(seed, "naa", c, j)
            params = pipe.randomize(rng, {"index": j})
            ya = np.asarray(pipe.apply(np.asarray(y, np.float32), feat["sample_rate_hz"], params), np.float32)
            if len(ya) < feat["hop"] * 4:
                ya = np.asarray(y, np.float32)
            if layout == "folders":
                need = (feat["frames"] - 1) * feat["hop"]
                ya = np.pad(ya, (0, max(0, need - len(ya))))[:need]
            out.append((mel_db(ya, feat), c))
    return out


def _taa_copies(sources, plan, feat, seed):
    from clinaudio_gui.augment import load_recipe, rng_for
    pipe = load_recipe("taa").pipeline
    out = []
    for c, n in enumerate(plan):
        src = [e for e in sources if e[1] == c]
        for j in range(n):
            rng = rng_for(seed, "taa", c, j)
            img = crop(src[j % len(src)][0].mel_db, feat["frames"], rng)
            params = pipe.randomize(rng, {"index": j})
            out.append((np.asarray(pipe.apply(img, feat["sample_rate_hz"], params), np.float32), c))
    return out


def _gan_copies(sampler, plan, task_labels, raw_to_task, seed, *, classify=None, threshold=None,
                truncation=None, stats=None):
    """Synthetic images per task class; a merged task class (e.g. Adventitious) draws its raw
    generator classes in turn. With classify and threshold, only patches the real-data
    classifier assigns to the intended class with probability >= threshold are kept
    (``gan.filtering.filtered_samples``; a class may then get fewer)."""
    from clinaudio_gui.engine.gan.filtering import filtered_samples
    out = []
    for c, n in enumerate(plan):
        if n == 0:
            continue
        raws = [r for r in sampler.classes if raw_to_task.get(r, r) == task_labels[c]]
        if not raws:
            continue
        per_raw = [n // len(raws) + (1 if k < n % len(raws) else 0) for k in range(len(raws))]
        for k, (raw, m) in enumerate(zip(raws, per_raw)):
            if not m:
                continue
            sd = seed * 1000 + c * 37 + k
            if classify is not None and threshold is not None:
                imgs, st = filtered_samples(sampler, raw, m, classify, threshold=threshold, seed=sd,
                                            truncation=truncation)
                if stats is not None:
                    stats[raw] = st
            else:
                imgs = sampler.sample(raw, m, seed=sd, truncation=truncation)
            out.extend((img, c) for img in imgs)
    return out


def _split_plan(plan: list[int]) -> tuple[list[int], list[int]]:
    """naa+gan: the same number of added examples as one strategy, half naa, half gan per class."""
    a = [n // 2 + n % 2 for n in plan]
    return a, [n - x for n, x in zip(plan, a)]


def _study_classify(model, mean, std, frames, dev, gen_classes, task_labels, raw_to_task):
    """Probabilities in the generator's class order from the study CNN trained on real data only."""
    idx = [task_labels.index(raw_to_task.get(c, c)) if raw_to_task.get(c, c) in task_labels else -1
           for c in gen_classes]

    def classify(mels):
        x = ((np.asarray(mels) - mean[None, :, None]) / std[None, :, None])[:, None].astype(np.float32)
        with torch.no_grad():
            p = torch.softmax(model(torch.from_numpy(x).to(dev)), 1).cpu().numpy()
        return np.stack([p[:, j] if j >= 0 else np.zeros(len(p)) for j in idx], 1)
    return classify


def paired_ci(a, b) -> dict:
    """Mean paired difference a - b over folds/seeds with a t-based 95 % confidence interval."""
    from scipy import stats as sst
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    n = len(d)
    out = {"mean": float(d.mean()), "std": float(d.std(ddof=1)) if n > 1 else 0.0, "n": n,
           "per_run": d.tolist(), "wins": int((d > 0).sum())}
    if n > 1:
        half = float(sst.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n))
        out["ci95"] = [out["mean"] - half, out["mean"] + half]
    return out


def class_recall(confusion: list[list[int]], labels: list[str]) -> dict:
    cm = np.asarray(confusion)
    return {lab: (float(cm[i, i] / cm[i].sum()) if cm[i].sum() else None) for i, lab in enumerate(labels)}


def _cap(idx: list[int], y: list[int], max_per_class: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    out = []
    for c in sorted({y[i] for i in idx}):
        members = [i for i in idx if y[i] == c]
        out += rng.permutation(members)[:max_per_class].tolist() if len(members) > max_per_class else members
    return sorted(out)


def _fold_gan_manifest(fdir: Path) -> dict | None:
    """The manifest of a study fold GAN in fdir (it has a study_fold entry), else None."""
    import json
    try:
        man = json.loads((fdir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return man if isinstance(man, dict) and "study_fold" in man else None


def _fold_gan_matches(fdir: Path, key: dict) -> bool:
    """True when fdir holds a finished fold GAN trained exactly as key says."""
    man = _fold_gan_manifest(fdir)
    return man is not None and man["study_fold"] == key and (fdir / "model.safetensors").exists()


def _train_fold_gan(train_gan, train_src, raw_classes, feat, out_dir, gan_steps, gan_minutes, seed, dev,
                    key, *, resume: bool) -> None:
    train_gan([e for e, _ in train_src], raw_classes, feat, out_dir=out_dir, epochs=1,
              steps_per_epoch=gan_steps or 10 ** 9, max_seconds=None if gan_steps else gan_minutes * 60,
              seed=seed, device=str(dev), resume=resume, grid_every_epoch=False,
              extra_manifest={"study_fold": key, "training_patients": key["training_patients"]})


def run_study(data_dir: str | Path, *, task: str = "1-2", strategies=STRATEGIES, folds: int = 5,
              run_folds: list[int] | None = None, epochs: int = 8, max_per_class: int | None = None,
              gan_model: str | Path | None = None, gan_minutes: float = 3.0, gan_steps: int | None = None,
              synthetic_ratio: float = 0.5, seed: int = 0, cache_dir: str | Path | None = None,
              gan_dir: str | Path | None = None, gan_filter: float | None = None,
              gan_truncation: float | None = None, seeds: int = 1, synthetic_schedule: str = "mixed",
              device: str | None = None, log: Callable[[str], None] | None = None) -> dict:
    """Cross-validated comparison of augmentation strategies; returns a JSON-able dict.

    gan_dir: keep each fold's GAN in gan_dir/fold-K and reuse it in a later call when it was
    trained on exactly the same training patients and examples with the same budget and seed
    (recorded in its manifest as study_fold); another fold GAN there is replaced, and a folder
    that is not a fold GAN is an error (never deleted).

    gan_filter: keep only GAN patches that the classifier trained on the real training fold
    (the ``none`` model of that fold and seed) assigns to the intended class with at least this
    probability. seeds: classifier seeds per fold (seed, seed + 100, ...); every (fold, seed) is a
    paired run of all strategies. synthetic_schedule: how the augmented items are drawn during
    training (``batch_indices``); the ``none`` strategy is the same under every schedule.
    """
    from clinaudio_gui.engine.common.device import resolve_device
    from clinaudio_gui.engine.gan.sampler import GanSampler
    from clinaudio_gui.engine.gan.train import train_gan
    from clinaudio_gui.engine.gan.data import scan_dataset
    log = log or (lambda m: None)
    if synthetic_schedule not in SCHEDULES:
        raise ValueError(f"synthetic schedule {synthetic_schedule!r} is not one of {', '.join(SCHEDULES)}")
    for s_ in strategies:
        if s_ not in STRATEGIES:
            raise ValueError(f"strategy {s_!r} is not one of {', '.join(STRATEGIES)}")
    t0 = time.monotonic()
    dev = resolve_device(device)
    layout, _ = scan_dataset(data_dir, labels="records")
    level, task_labels, raw_to_task = task_mapping(task, layout)
    # SPRSound: folds are made on the full list (so they match a generator's held-out fold), and
    # max_per_class caps each fold's training and validation parts afterwards
    exs, feat, layout = load_examples(data_dir, labels=level,
                                      max_per_class=max_per_class if layout == "folders" else None, seed=seed,
                                      cache_dir=cache_dir, keep_audio=any("naa" in s_ for s_ in strategies))
    if layout == "folders":
        task_labels = sorted({e.label for e in exs})
        raw_to_task = {lab: lab for lab in task_labels}
    exs = [e for e in exs if e.label in raw_to_task]
    if not exs:
        raise ValueError(f"no examples with labels of task {task!r} in {data_dir}")
    li = {lab: i for i, lab in enumerate(task_labels)}
    y_all = [li[raw_to_task[e.label]] for e in exs]
    fold_of = patient_folds(exs, folds, seed=seed)
    fold_ids = sorted(set(fold_of))
    if run_folds:
        bad = [f for f in run_folds if f not in fold_ids]
        if bad:
            raise ValueError(f"run_folds={bad} not among the folds {fold_ids}")
        fold_ids = [f for f in fold_ids if f in run_folds]
    log(f"study: {len(exs)} examples, task {task}, labels {task_labels}, folds {fold_ids}, device {dev}")
    frames = feat["frames"]
    pretrained = None
    if gan_model is not None and any("gan" in s_ for s_ in strategies):
        pretrained = GanSampler.load(gan_model, device=str(dev))
    per: dict[str, list[dict]] = {s_: [] for s_ in strategies}
    gan_sources = []
    uses_gan = any("gan" in s_ for s_ in strategies)
    for f in fold_ids:
        tr = [i for i, ff in enumerate(fold_of) if ff != f]
        va = [i for i, ff in enumerate(fold_of) if ff == f]
        if max_per_class and layout != "folders":
            tr, va = _cap(tr, y_all, max_per_class, seed), _cap(va, y_all, max_per_class, seed + 1)
        train_src = [(exs[i], y_all[i]) for i in tr]
        from clinaudio_gui.engine.gan.train import normalization_stats
        mean, std = normalization_stats([exs[i] for i in tr])
        steps = max(1, epochs * math.ceil(len(tr) / 64))
        n_aug = int(round(synthetic_ratio * len(tr)))
        plan = augmentation_plan([y_all[i] for i in tr], len(task_labels), n_aug)
        val_imgs = [exs[i].mel_db for i in va]
        val_y = [y_all[i] for i in va]
        sampler, src_note = None, None
        if uses_gan:
            sampler, src_note = _fold_sampler(pretrained, gan_model, exs, tr, va, feat, f, folds, gan_steps,
                                              gan_minutes, seed, max_per_class, train_src, task_labels,
                                              raw_to_task, gan_dir, dev, log)
        for r in range(seeds):
            cseed = seed + f + 100 * r
            real_model = None
            for strat in strategies:
                ts = time.monotonic()
                pool = [(e.mel_db, c) for e, c in train_src]
                note, fstats = None, {}
                naa_plan, gan_plan = (_split_plan(plan) if strat == "naa+gan" else
                                      (plan, plan))
                if strat in ("naa", "naa+gan"):
                    pool += _naa_copies(train_src, naa_plan, feat, layout, seed + f, log)
                if strat == "taa":
                    pool += _taa_copies(train_src, plan, feat, seed + f)
                if strat in ("gan", "naa+gan"):
                    classify = None
                    if gan_filter is not None:
                        if real_model is None:
                            real_model = train_classifier([(e.mel_db, c) for e, c in train_src], len(task_labels),
                                                          mean, std, frames, steps=steps, seed=cseed, device=dev)
                        classify = _study_classify(real_model, mean, std, frames, dev, sampler.classes,
                                                   task_labels, raw_to_task)
                    pool += _gan_copies(sampler, gan_plan, task_labels, raw_to_task, seed + f, classify=classify,
                                        threshold=gan_filter, truncation=gan_truncation, stats=fstats)
                    note = src_note
                model = train_classifier(pool, len(task_labels), mean, std, frames, steps=steps, seed=cseed,
                                         device=dev, n_real=len(train_src), schedule=synthetic_schedule)
                if strat == "none":
                    real_model = model
                pred = predict(model, val_imgs, mean, std, frames, dev)
                met = _metrics(val_y, pred.tolist(), task_labels)
                met.update({"fold": f, "seed": cseed, "train_real": len(tr), "train_augmented": len(pool) - len(tr),
                            "validation": len(va), "seconds": round(time.monotonic() - ts, 1),
                            "recall": class_recall(met["confusion"], task_labels)})
                if note:
                    met["gan_source"] = note
                    gan_sources.append(note)
                if fstats:
                    met["gan_filter"] = fstats
                per[strat].append(met)
                log(f"fold {f} seed {cseed} {strat:>7}: macro F1 {met['macro_f1']:.3f}  score {met['score']:.3f}  "
                    f"({met['seconds']:.0f} s, {len(pool) - len(tr)} augmented)")
    summary = {}
    for strat, rows in per.items():
        f1 = np.array([r["macro_f1"] for r in rows])
        sc = np.array([r["score"] for r in rows])
        rare = {c: [r["recall"][c] for r in rows if r["recall"].get(c) is not None]
                for c in RARE_EVENT_CLASSES if c in task_labels}
        summary[strat] = {"macro_f1_mean": float(f1.mean()), "macro_f1_std": float(f1.std()),
                          "score_mean": float(sc.mean()), "score_std": float(sc.std()),
                          "macro_f1": f1.tolist(), "score": sc.tolist(),
                          "rare_recall_mean": {c: (float(np.mean(v)) if v else None) for c, v in rare.items()},
                          "folds": rows}
    gains = {}
    for a_, b_ in (("gan", "none"), ("gan", "naa"), ("gan", "taa"), ("naa", "none"), ("naa+gan", "naa"),
                   ("naa+gan", "none"), ("naa+gan", "gan")):
        if a_ in summary and b_ in summary:
            d = np.array(summary[a_]["macro_f1"]) - np.array(summary[b_]["macro_f1"])
            ci = paired_ci(summary[a_]["macro_f1"], summary[b_]["macro_f1"])
            gains[f"{a_}_vs_{b_}"] = {"macro_f1_gain_mean": float(d.mean()), "macro_f1_gain_std": float(d.std()),
                                      "macro_f1_paired": ci,
                                      "score_paired": paired_ci(summary[a_]["score"], summary[b_]["score"])}
    return {"data": str(Path(data_dir).resolve()), "task": task, "layout": layout, "labels": task_labels,
            "folds": folds, "run_folds": fold_ids, "epochs": epochs, "seeds": seeds,
            "synthetic_ratio": synthetic_ratio, "synthetic_schedule": synthetic_schedule,
            "max_per_class": max_per_class, "seed": seed,
            "gan_filter": gan_filter, "gan_truncation": gan_truncation,
            "classifier": CLASSIFIER_DOC, "features": feat, "strategies": summary, "gains": gains,
            "gan_sources": sorted(set(gan_sources)), "seconds": round(time.monotonic() - t0, 1)}


def _fold_sampler(pretrained, gan_model, exs, tr, va, feat, f, folds, gan_steps, gan_minutes, seed,
                  max_per_class, train_src, task_labels, raw_to_task, gan_dir, dev, log):
    """(sampler, note) for fold f: the pretrained generator when it never saw a validation
    patient, else a fold GAN trained on the training fold (kept in / reused from gan_dir)."""
    from clinaudio_gui.engine.gan.sampler import GanSampler
    from clinaudio_gui.engine.gan.train import train_gan
    if pretrained is not None:
        seen = set(pretrained.manifest.get("training_patients") or [])
        val_patients = {exs[i].patient for i in va if exs[i].patient}
        same_feat = all(pretrained.features.get(k) == feat.get(k) for k in
                        ("sample_rate_hz", "n_fft", "hop", "n_mels", "frames"))
        if same_feat and seen and not (seen & val_patients):
            return pretrained, f"pretrained {gan_model} (no validation patient seen)"
        log(f"fold {f}: --gan-model saw validation patients or has other features; training a fold GAN instead")
    budget = f"{gan_steps} steps" if gan_steps else f"{gan_minutes} min"
    note = f"fold GAN trained on the training fold ({budget})"
    fold_key = {"fold": f, "folds": folds, "budget": budget, "seed": seed + f, "max_per_class": max_per_class,
                "training_patients": sorted({exs[i].patient for i in tr if exs[i].patient}),
                "training_examples": len(tr)}
    raw_classes = sorted({e.label for e, _ in train_src}, key=lambda r: (task_labels.index(raw_to_task[r]), r))
    if gan_dir is None:
        with tempfile.TemporaryDirectory(prefix="clinaudio-study-gan-") as tmp:
            _train_fold_gan(train_gan, train_src, raw_classes, feat, tmp, gan_steps, gan_minutes, seed + f, dev,
                            fold_key, resume=False)
            return GanSampler.load(tmp, device=str(dev)), note
    fdir = Path(gan_dir) / f"fold-{f}"
    if _fold_gan_matches(fdir, fold_key):
        log(f"fold {f}: reusing the fold GAN in {fdir}")
        return GanSampler.load(fdir, device=str(dev)), note + f", reused from {fdir}"
    if fdir.exists() and any(fdir.iterdir()):
        if _fold_gan_manifest(fdir) is None:
            raise ValueError(f"{fdir} exists and is not a study fold GAN (no study_fold in its manifest.json); "
                             f"it is left untouched: choose another --gan-dir")
        log(f"fold {f}: {fdir} holds another fold's or budget's GAN; retraining")
        import shutil
        shutil.rmtree(fdir)
    _train_fold_gan(train_gan, train_src, raw_classes, feat, fdir, gan_steps, gan_minutes, seed + f, dev, fold_key,
                    resume=False)
    return GanSampler.load(fdir, device=str(dev)), note

def format_table(res: dict) -> str:
    lines = [f"task {res['task']} on {res['data']} (folds {res['run_folds']}, {res['epochs']} epochs)",
             f"{'strategy':<9} {'macro F1':>17} {'SPRSound score':>17}"]
    for s_, v in res["strategies"].items():
        lines.append(f"{s_:<9} {v['macro_f1_mean']:8.3f} +- {v['macro_f1_std']:.3f} "
                     f"{v['score_mean']:8.3f} +- {v['score_std']:.3f}")
    for k, v in res["gains"].items():
        ci = v.get("macro_f1_paired", {}).get("ci95")
        lines.append(f"{k}: macro F1 {v['macro_f1_gain_mean']:+.3f} +- {v['macro_f1_gain_std']:.3f}"
                     + (f" (95 % CI {ci[0]:+.3f} .. {ci[1]:+.3f}, n={v['macro_f1_paired']['n']})" if ci else ""))
    return "\n".join(lines)
