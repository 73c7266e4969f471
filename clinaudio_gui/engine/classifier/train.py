"""Training: cached features, patient-wise split, class-weighted multi-objective loss, DDP-aware.

``train_classifier(...)`` is what `clinaudio train` and the GUI's training dialog call. Features
of every item are computed once and cached (``runs/cache/*.npz``), so an epoch costs only the
network. When launched by ``torchrun`` (WORLD_SIZE > 1) it runs DistributedDataParallel (gloo
on CPU, nccl on CUDA) with a DistributedSampler; rank 0 evaluates, logs and saves.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from clinaudio_gui.core.errors import ClinAudioError
from clinaudio_gui.engine.common import data as D
from clinaudio_gui.engine.common.cache import default_cache_dir
from clinaudio_gui.engine.common.device import resolve_device
from clinaudio_gui.engine.common.frontend import FeatureSettings, compute_features, n_frames_for
from clinaudio_gui.engine.common.metrics import all_metrics
from clinaudio_gui.engine.classifier.model import ArchConfig, DualBranchNet, multi_objective_loss
from clinaudio_gui.engine.common.package import save_model_package

EVENT_WINDOW_S = 2.0
RECORD_CROP_S = 9.0
EVENT_HOP_S = 0.016
RECORD_HOP_S = 0.032


def feature_settings_for(level: str) -> FeatureSettings:
    return FeatureSettings(hop_s=EVENT_HOP_S if level == "event" else RECORD_HOP_S)


def item_audio(item: D.Item, sr: int) -> np.ndarray:
    from clinaudio_gui.io import read_audio
    y, _ = read_audio(item.audio, start_s=item.start_s, end_s=item.end_s, target_sr=sr)
    return y


def item_features(y: np.ndarray, level: str, s: FeatureSettings) -> np.ndarray:
    if level == "event":
        y = D.fit_length(y, int(round(EVENT_WINDOW_S * s.sample_rate_hz)))
    return compute_features(y, s)


def _feature_code_fingerprint() -> str:
    """Hash of the feature code (dsp layer + frontend): a changed implementation never reuses a
    stale cache (mixing old and new images in one training set is a silent, serious leak)."""
    import clinaudio_gui.dsp as dsp_pkg
    import clinaudio_gui.engine.common.frontend as fe
    h = hashlib.sha256()
    for p in sorted(Path(dsp_pkg.__file__).parent.glob("*.py")) + [Path(fe.__file__)]:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def build_cache(items: list[D.Item], level: str, s: FeatureSettings, *, cache_dir: Path | None = None,
                augment=None, copies: int = 0, seed: int = 0, log: Callable[[str], None] = print):
    """Features of every item, (N, 2, bands, T) float16 + valid lengths, cached in an npz."""
    cache_dir = Path(cache_dir or default_cache_dir())
    key_src = json.dumps([level, s.to_dict(), EVENT_WINDOW_S, _feature_code_fingerprint(), [(i.audio, i.start_s, i.end_s) for i in items],
                          None if augment is None else repr(augment), copies, seed])
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    path = cache_dir / f"{level}-{key}.npz"
    if path.is_file():
        z = np.load(path)
        return z["x"], z["lengths"], path
    t0 = time.perf_counter()
    feats = []
    rng = np.random.default_rng(seed)
    for k, it in enumerate(items):
        y = item_audio(it, s.sample_rate_hz)
        if augment is not None and copies > 0:
            y = augment(y, s.sample_rate_hz, rng, index=k)
        feats.append(item_features(y, level, s))
        if (k + 1) % 500 == 0:
            log(f"features {k + 1}/{len(items)} ({time.perf_counter() - t0:.0f} s)")
    t_max = max(f.shape[2] for f in feats)
    x = np.zeros((len(feats), 2, s.n_bands, t_max), np.float16)
    lengths = np.zeros(len(feats), np.int32)
    for k, f in enumerate(feats):
        x[k, :, :, : f.shape[2]] = f
        x[k, :, :, f.shape[2]:] = f.min()
        lengths[k] = f.shape[2]
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # unique per DDP rank
    np.savez(tmp, x=x, lengths=lengths)
    os.replace(tmp, path)
    log(f"cached {len(items)} {level} feature images in {time.perf_counter() - t0:.0f} s -> {path}")
    return x, lengths, path


def _crop_batch(x: np.ndarray, lengths: np.ndarray, idx: np.ndarray, n_frames: int | None,
                rng: np.random.Generator | None) -> np.ndarray:
    """Fixed-width crop (random when rng) of each image's valid part; pad short ones with the floor."""
    if n_frames is None:
        return x[idx].astype(np.float32)
    out = np.empty((len(idx), x.shape[1], x.shape[2], n_frames), np.float32)
    for j, i in enumerate(idx):
        L = int(lengths[i])
        if L >= n_frames:
            off = int(rng.integers(0, L - n_frames + 1)) if rng is not None else (L - n_frames) // 2
            out[j] = x[i, :, :, off:off + n_frames]
        else:
            img = x[i, :, :, :L].astype(np.float32)
            out[j] = img.min()
            out[j, :, :, :L] = img
    return out


def spec_augment(xb: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """One frequency mask (<= 8 bands) and one time mask (<= 10 %) per image, plus a circular time shift."""
    b, _, f, t = xb.shape
    for j in range(b):
        f0 = int(rng.integers(0, f - 8)); fw = int(rng.integers(0, 9))
        xb[j, :, f0:f0 + fw, :] = 0.0
        tw = int(rng.integers(0, max(1, t // 10) + 1)); t0 = int(rng.integers(0, max(1, t - tw)))
        xb[j, :, :, t0:t0 + tw] = 0.0
    shift = int(rng.integers(-t // 8, t // 8 + 1))
    return torch.roll(xb, shifts=shift, dims=3)


def predict_logits(model, x: np.ndarray, lengths: np.ndarray, level: str, device, *, batch: int = 64):
    """Fused logits for cached items: events in batches; records one at a time at full length."""
    model.eval()
    outs = []
    with torch.no_grad():
        if level == "event":
            for a in range(0, len(x), batch):
                xb = torch.from_numpy(x[a:a + batch].astype(np.float32)).to(device)
                outs.append(model(xb)[0].float().cpu())
        else:
            for i in range(len(x)):
                L = max(int(lengths[i]), 16)
                xb = torch.from_numpy(_crop_batch(x, lengths, np.array([i]), L, None)).to(device)
                outs.append(model(xb)[0].float().cpu())
    return torch.cat(outs) if outs else torch.zeros(0)


def merge_probs(probs: np.ndarray, output_labels: list[str], task: str) -> np.ndarray:
    """Sum the network's fine-class probabilities into the task's classes."""
    labels = D.TASKS[task]["labels"]
    out = np.zeros((probs.shape[0], len(labels)), np.float64)
    for j, lab in enumerate(output_labels):
        k = labels.index(lab) if lab in labels else labels.index(D.to_task_label(lab, task))
        out[:, k] += probs[:, j]
    return out


def _pad_time(a: np.ndarray, t: int) -> np.ndarray:
    """Edge-pad cached images along time to t frames (to stack caches of different widths)."""
    return np.pad(a, ((0, 0), (0, 0), (0, 0), (0, t - a.shape[3])), mode="edge") if a.shape[3] < t else a


def _ddp_env():
    ws = int(os.environ.get("WORLD_SIZE", "1"))
    return ws, int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))


def train_classifier(*, task: str, data_dir: str | Path, out_dir: str | Path, epochs: int = 20,
                     device: str | None = "auto", augment: str | None = None, batch_size: int = 32,
                     lr: float = 2e-3, val_fraction: float = 0.2, seed: int = 0, threads: int | None = None,
                     output_level_labels: str = "fine", max_items: int | None = None,
                     max_batches: int | None = None, aux_weight: float = 0.3, cache_dir=None,
                     widths=(16, 32, 64), cap_per_class: int | None = None, command: str | None = None,
                     gan=None, val_from_gan: bool = False,
                     split_generator: tuple[str, dict] | None = None, progress: Callable[[dict], None] | None = None,
                     should_stop: Callable[[], bool] | None = None,
                     log: Callable[[str], None] = print) -> Path:
    """Train one classifier and write its package to out_dir. Returns out_dir.

    output_level_labels: 'fine' trains on the 7 event / 5 record classes and merges them into
    the task's classes; 'task' trains on the task's classes directly.
    augment: an audio recipe (naa, a JSON file), 'gan', or 'RECIPE+gan' (e.g. naa+gan); the GAN
    strategies need ``gan``, a :class:`~clinaudio_gui.engine.classifier.gan_items.GanAugment`
    holding the loaded generator (the CLI loads --gan-model): synthetic clips of the minority
    classes are added to the training part only.
    val_from_gan: validation is every patient of data_dir the generator did not train on (its
    manifest's training_patients), training every other patient; val_fraction is then unused. The
    generator is ``gan``'s, else ``split_generator`` (its folder and manifest: any ``augment``, so
    that models with and without GAN items can share the split).
    """
    from clinaudio_gui.engine.classifier import gan_items as G
    spec = D.check_task(task)
    level = spec["level"]
    # every setting is checked before anything is read or written
    recipe, uses_gan = G.split_strategy(augment)
    aug_fn = None
    if recipe:
        from clinaudio_gui.engine.common.augmenting import make_augment_fn
        aug_fn = make_augment_fn(recipe)
    if uses_gan:
        if gan is None:
            raise ValueError(f"--augment {augment!r} needs a generator package (--gan-model)")
        G.check_generator(gan, level, task)
    elif gan is not None:
        raise ValueError(f"a generator (--gan-model {gan.model_dir}) was given but --augment {augment!r} "
                         f"does not use it (use gan or naa+gan)")
    split_gen = (gan.model_dir, gan.sampler.manifest) if gan is not None else split_generator
    if val_from_gan:
        if split_gen is None:
            raise ValueError("--val-from-gan needs a generator package (--gan-model, or the bundled one)")
        G.generator_training_patients(split_gen[1], split_gen[0])
    world, rank, local_rank = _ddp_env()
    distributed = world > 1
    dev = resolve_device(device)
    if distributed:
        import torch.distributed as dist
        if dev.type == "cuda":
            dev = torch.device(f"cuda:{local_rank}")
            torch.cuda.set_device(dev)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    if threads:
        torch.set_num_threads(int(threads))
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed + rank)
    is_main = rank == 0

    def say(msg):
        if is_main:
            log(msg)

    items = D.load_items(data_dir, level)
    if val_from_gan:
        # validation = the patients the generator never trained on: no leak through its samples
        gen_dir, gen_manifest = split_gen
        train_p, val_p, n_unnamed = G.generator_holdout_split(gen_manifest, gen_dir, data_dir)
        vs = set(val_p)
        train_items, val_items = [i for i in items if i.patient not in vs], [i for i in items if i.patient in vs]
        split_info = {"method": "generator-holdout", "generator": gen_dir,
                      "generator_weights_sha256": gen_manifest.get("weights_sha256"),
                      "generator_holdout": {k: v for k, v in (gen_manifest.get("holdout") or {}).items()
                                            if k != "patients"} or None,
                      "n_val_patients": len(val_p), "n_unnamed_recordings_in_training": n_unnamed, "seed": seed}
    else:
        train_items, val_items, train_p, val_p = D.split_items(items, val_fraction=val_fraction, seed=seed,
                                                                  patients=D.folder_patients(data_dir))
        split_info = {"method": "patient-wise", "val_fraction": val_fraction, "seed": seed}
    if max_items:
        train_items = [train_items[i] for i in np.random.default_rng(seed).permutation(len(train_items))[:max_items]]
        val_items = [val_items[i] for i in np.random.default_rng(seed).permutation(len(val_items))[:max_items]]
    out_labels = list(D.FINE_LABELS[level]) if output_level_labels == "fine" else list(spec["labels"])

    def lab(it):
        return it.label if output_level_labels == "fine" else D.to_task_label(it.label, task)

    y_tr = np.array([out_labels.index(lab(i)) for i in train_items])
    y_va_task = np.array([spec["labels"].index(D.to_task_label(i.label, task)) for i in val_items])
    s = feature_settings_for(level)
    say(f"task {task} ({level}): {len(train_items)} train / {len(val_items)} val items, "
        f"{len(train_p)} / {len(val_p)} patients; output classes {out_labels}")
    x_tr, len_tr, _ = build_cache(train_items, level, s, cache_dir=cache_dir, log=say)
    x_va, len_va, _ = build_cache(val_items, level, s, cache_dir=cache_dir, log=say)
    real_counts = np.bincount(y_tr, minlength=len(out_labels))
    gan_info = None
    if uses_gan:
        # synthetic clips of the minority classes, training part only (computed before the recipe
        # copies are added, so both strategies see the same real counts)
        plan = G.plan_synthetic(real_counts, out_labels, lambda r: r if output_level_labels == "fine"
                                else D.to_task_label(r, task), gan.sampler.classes, level, gan.ratio)
        durs = G.class_durations(train_items, plan, max_s=EVENT_WINDOW_S if level == "event" else RECORD_CROP_S,
                                 default_s=gan.sampler.patch_seconds())
        syn = G.synthesize_items(gan, plan, durs, sample_rate_hz=s.sample_rate_hz,
                                 cache_dir=cache_dir or default_cache_dir(), log=say) if plan else []
        n_seen = G.validation_patients_seen(gan.sampler.manifest, val_p)
        warning = G.leakage_warning(n_seen, len(val_p), gan.model_dir)
        if warning and is_main:
            print(warning, file=sys.stderr, flush=True)
        gan_info = {"model": gan.model_dir, "weights_sha256": gan.sampler.manifest.get("weights_sha256"),
                    "ratio": gan.ratio, "seed": gan.seed, "n_synthetic": len(syn), "per_class": plan,
                    "clip_s": durs, "vocoder": f"Griffin-Lim ({G.VOCODER_ITERATIONS} iterations, momentum 0.99)",
                    "filter": None, "validation_patients_seen_by_generator": n_seen,
                    "n_validation_patients": len(val_p)}
        if syn:
            xg, lg, _ = build_cache(syn, level, s, cache_dir=cache_dir, log=say)
            t = max(x_tr.shape[3], xg.shape[3])
            x_tr = np.concatenate([_pad_time(x_tr, t), _pad_time(xg, t)])
            len_tr = np.concatenate([len_tr, lg])
            y_tr = np.concatenate([y_tr, [out_labels.index(lab(i)) for i in syn]])
        say(f"augment {augment!r}: +{len(syn)} GAN items {plan} from {gan.model_dir} (training part only)")
    if aug_fn is not None:
        # extra augmented copies of the minority-class items (offline, cached like the originals)
        counts = real_counts
        extra = []
        for k in range(len(out_labels)):
            if 0 < counts[k] < counts.max() / 4:
                reps = int(min(4, counts.max() // (4 * counts[k])))
                extra += [it for it in train_items if lab(it) == out_labels[k]] * reps
        if extra:
            xa, la, _ = build_cache(extra, level, s, cache_dir=cache_dir, augment=aug_fn, copies=1,
                                    seed=seed + 1, log=say)
            t = max(x_tr.shape[3], xa.shape[3])
            x_tr = np.concatenate([_pad_time(x_tr, t), _pad_time(xa, t)])
            len_tr = np.concatenate([len_tr, la])
            y_tr = np.concatenate([y_tr, [out_labels.index(lab(i)) for i in extra]])
            say(f"augment {recipe!r}: +{len(extra)} augmented minority-class items")

    counts = np.bincount(y_tr, minlength=len(out_labels)).astype(np.float64)
    if cap_per_class:
        counts = np.minimum(counts, cap_per_class)  # what an epoch actually sees
    cw = np.where(counts > 0, np.sqrt(counts.sum() / (len(out_labels) * np.maximum(counts, 1))), 0.0)
    cw = cw / (cw[counts > 0].mean() if (counts > 0).any() else 1.0)
    class_weights = torch.tensor(cw, dtype=torch.float32, device=dev)
    crop_frames = None if level == "event" else n_frames_for(int(RECORD_CROP_S * s.sample_rate_hz), s)

    cfg = ArchConfig(n_classes=len(out_labels), n_bands=s.n_bands, widths=tuple(widths))
    model = DualBranchNet(cfg).to(dev)
    net = model
    if distributed:
        from torch.nn.parallel import DistributedDataParallel as DDP
        net = DDP(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    n_tr = len(y_tr)
    by_class = [np.flatnonzero(y_tr == k) for k in range(len(out_labels))]
    n_epoch = int(sum(min(len(b), cap_per_class) if cap_per_class else len(b) for b in by_class))
    steps_per_epoch = math.ceil(n_epoch / (batch_size * world))
    if max_batches:
        steps_per_epoch = min(steps_per_epoch, max_batches)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(1, epochs * steps_per_epoch),
                                                pct_start=0.15)
    out_dir = Path(out_dir)
    log_path = out_dir / "train_log.jsonl"
    if is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        log_path.write_text("")
    best = None
    history = []
    def save_best(final: bool = False):
        metrics, state, best_epoch, fw = best
        manifest = {
            "kind": "classifier", "task": task, "level": level, "labels": list(spec["labels"]),
            "output_labels": out_labels,
            "merge": spec["merge"] if output_level_labels == "fine" else {k: [k] for k in out_labels},
            "sample_rate_hz": s.sample_rate_hz,
            "window_s": EVENT_WINDOW_S if level == "event" else None,
            "record_crop_s": RECORD_CROP_S if level == "record" else None,
            "features": dict(s.to_dict(), inputs=["gammatone", "cwt-morlet"],
                             implementation="clinaudio_gui.dsp gammatone_spectrogram_db (center, no filter delay) + cwt_scalogram_db (w0=6), per-image standardised dB"),
            "architecture": dict(cfg.to_dict(), name="DualBranchNet (Inception-residual + MHA, learnable fusion)"),
            "fusion_weights": {"gammatone": fw[0], "cwt": fw[1]},
            "loss": {"name": "CE(fused) + aux_weight * mean_b CE(branch_b)", "aux_weight": aux_weight,
                     "class_weights": cw.round(4).tolist(), "label_smoothing": 0.05},
            "training": {"data": str(Path(data_dir)), "n_train_items": int(n_tr), "n_val_items": len(val_items),
                         "epochs": epochs, "epochs_done": len(history), "finished": final,
                         "cap_per_class": cap_per_class, "widths": list(widths),
                         "best_epoch": best_epoch, "batch_size": batch_size, "lr": lr,
                         "augment": augment, "gan_augment": gan_info,
                         "seed": seed, "world_size": world, "device": str(dev),
                         "seconds": round(time.perf_counter() - t_start, 1),
                         "command": command or " ".join(shlex.quote(a) for a in sys.argv)},
            "split": {**split_info,
                      "val_patients": val_p, "n_train_patients": len(train_p),
                      "val_patients_sha": D.split_digest(val_p)},
            "validation": {k: metrics[k] for k in ("se", "sp", "as", "hs", "score", "macro_f1", "accuracy",
                                                   "labels", "confusion", "n")},
            "history": history,
        }
        save_model_package(out_dir, state, manifest)
        say(f"saved {out_dir} (best epoch {best_epoch}, score {metrics['score']:.4f})")

    t_start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        # the epoch's items: every item, or at most cap_per_class random items of each class
        # (a fresh draw each epoch, the same on every rank), so big classes cost less per epoch
        ep_rng = np.random.default_rng(seed * 1000 + epoch)
        pool = np.concatenate([ep_rng.permutation(b)[:cap_per_class] if cap_per_class else b for b in by_class])
        if distributed:
            from torch.utils.data import DistributedSampler
            sampler = DistributedSampler(range(len(pool)), num_replicas=world, rank=rank, shuffle=True, seed=seed)
            sampler.set_epoch(epoch)
            order = pool[np.array(list(sampler))]
        else:
            order = pool[rng.permutation(len(pool))]
        tot, n_seen, t_ep = 0.0, 0, time.perf_counter()
        for step in range(steps_per_epoch):
            idx = order[step * batch_size:(step + 1) * batch_size]
            if len(idx) == 0:
                break
            xb = torch.from_numpy(_crop_batch(x_tr, len_tr, idx, crop_frames, rng))
            xb = spec_augment(xb, rng).to(dev)
            yb = torch.from_numpy(y_tr[idx]).long().to(dev)
            fused, branch_logits, _ = net(xb)
            loss, main, aux = multi_objective_loss(fused, branch_logits, yb, class_weights=class_weights,
                                                   aux_weight=aux_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            n_seen += len(idx)
            if should_stop is not None and should_stop():
                break
        train_loss = tot / max(1, n_seen)
        if is_main:
            logits = predict_logits(model, x_va, len_va, level, dev)
            probs = torch.softmax(logits, dim=1).numpy()
            val_loss = float(F.cross_entropy(torch.from_numpy(merge_probs(probs, out_labels, task)).clamp_min(1e-8).log(),
                                             torch.from_numpy(y_va_task).long())) if len(y_va_task) else 0.0
            pred = merge_probs(probs, out_labels, task).argmax(1) if len(probs) else np.zeros(0, int)
            m = all_metrics(y_va_task, pred, spec["labels"])
            fw = model.fusion_weights().detach().cpu().tolist()
            rec = {"epoch": epoch, "epochs": epochs, "train_loss": train_loss, "val_loss": val_loss,
                   "score": m["score"], "se": m["se"], "sp": m["sp"], "macro_f1": m["macro_f1"],
                   "fusion_weights": fw, "epoch_s": time.perf_counter() - t_ep,
                   "items_per_s": n_seen / max(1e-9, time.perf_counter() - t_ep)}
            history.append(rec)
            with open(log_path, "a") as f:
                f.write(json.dumps(rec) + "\n")
            say(f"epoch {epoch}/{epochs} loss {train_loss:.4f} val_loss {val_loss:.4f} score {m['score']:.4f} "
                f"SE {m['se']:.3f} SP {m['sp']:.3f} F1 {m['macro_f1']:.3f} fusion {np.round(fw, 3).tolist()} "
                f"({rec['epoch_s']:.0f} s)")
            if best is None or m["score"] > best[0]["score"] + 1e-9:
                best = (m, {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, epoch, fw)
                save_best()
            if progress is not None:
                progress(dict(rec, confusion=m["confusion"], labels=m["labels"]))
        if should_stop is not None and should_stop():
            say("stopped early on request")
            break
    if distributed:
        import torch.distributed as dist
        dist.barrier()
    if is_main:
        save_best(final=True)
    if distributed:
        import torch.distributed as dist
        dist.destroy_process_group()
    return out_dir


def derive_package(src_dir: str | Path, task: str, out_dir: str | Path, *, data_dir: str | Path,
                   command: str | None = None, log: Callable[[str], None] = print) -> Path:
    """A package for a coarser task (1-1 from a 7-class event model, 2-1 from a 5-class record
    model): the same weights, the fine classes summed into the task's, validation metrics
    recomputed on the source model's held-out patients."""
    from clinaudio_gui.engine.classifier.evaluate import evaluate_classifier
    from clinaudio_gui.engine.classifier.inference import Classifier
    from clinaudio_gui.engine.common.package import load_model_package
    spec = D.check_task(task)
    tensors, man = load_model_package(src_dir, kind="classifier")
    clf = Classifier.load(src_dir, task=task, device="cpu")
    m = evaluate_classifier(clf, data_dir, split="val")
    new = {k: v for k, v in man.items() if k not in ("weights_sha256", "weights_bytes", "created_utc", "format",
                                                     "format_version", "weights_file", "software_version",
                                                     "torch_version")}
    new.update({"task": task, "labels": list(spec["labels"]), "merge": spec["merge"],
                "derived_from": {"task": man["task"], "weights_sha256": man["weights_sha256"],
                                 "validation": man.get("validation"),
                                 "command": command or " ".join(shlex.quote(a) for a in sys.argv)},
                "validation": {k: m[k] for k in ("se", "sp", "as", "hs", "score", "macro_f1", "accuracy",
                                                 "labels", "confusion", "n")}})
    save_model_package(out_dir, tensors, new)
    log(f"derived task {task} from {src_dir}: val score {m['score']:.4f} -> {out_dir}")
    return Path(out_dir)
