"""Training the WGAN-GP (5 critic steps per generator step, gradient penalty 10), with
checkpoints to resume from, per-epoch sample grids and a packaged generator at the end."""
from __future__ import annotations

import copy
import json
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from clinaudio_gui.engine.common.device import resolve_device
from clinaudio_gui.engine.common.package import load_model_package, save_model_package
from clinaudio_gui.engine.gan.data import Example, crop
import torch.nn.functional as F

from clinaudio_gui.engine.gan.model import (CHECKPOINT_KIND, KIND, Critic, build_generator, diff_augment,
                                             gradient_penalty)


def normalization_stats(examples: list[Example]) -> tuple[np.ndarray, np.ndarray]:
    """Per-mel-band mean and std over all frames of all examples (dB)."""
    cat = np.concatenate([e.mel_db for e in examples], axis=1)
    return cat.mean(axis=1).astype(np.float32), np.maximum(cat.std(axis=1), 1e-3).astype(np.float32)


class PatchSampler:
    """Class-balanced-ish random crops: class c drawn with weight n_c ** balance_power (0 = uniform
    over classes, 1 = as in the data). 0.5 gives rare classes more exposure without replaying the
    15 Stridor events hundreds of times more often than Normal ones."""

    def __init__(self, examples: list[Example], classes: list[str], mean: np.ndarray, std: np.ndarray,
                 frames: int, *, balance_power: float = 0.5, seed: int = 0):
        self.frames, self.mean, self.std = frames, mean[:, None], std[:, None]
        self.rng = np.random.default_rng(seed)
        self.by_class = [[e for e in examples if e.label == c] for c in classes]
        counts = np.array([len(b) for b in self.by_class], dtype=np.float64)
        w = np.where(counts > 0, counts ** balance_power, 0.0)
        self.class_p = w / w.sum()

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        ys = self.rng.choice(len(self.class_p), size=n, p=self.class_p)
        xs = np.empty((n, 1, len(self.mean), self.frames), dtype=np.float32)
        for i, c in enumerate(ys):
            pool = self.by_class[c]
            e = pool[int(self.rng.integers(len(pool)))]
            xs[i, 0] = (crop(e.mel_db, self.frames, self.rng) - self.mean) / self.std
        return torch.from_numpy(xs), torch.from_numpy(ys.astype(np.int64))


def _state_tensors(prefix: str, module: nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}{k}": v.detach().cpu().clone() for k, v in module.state_dict().items()}


def _opt_tensors(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors, meta = {}, {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"{prefix}{pid}.{k}"] = v.detach().cpu().clone().reshape(-1) if v.dim() == 0 else v.detach().cpu().clone()
                meta[f"{pid}.{k}"] = list(v.shape)
    return tensors, meta


def _load_opt(prefix: str, opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    sd = opt.state_dict()
    state: dict = {}
    for key, shape in meta.items():
        pid, k = key.split(".", 1)
        state.setdefault(int(pid), {})[k] = tensors[f"{prefix}{key}"].reshape(shape)
    sd["state"] = state
    opt.load_state_dict(sd)


@torch.no_grad()
def refresh_batchnorm(generator: nn.Module, n_classes: int, *, batches: int = 8, batch_size: int = 32,
                      seed: int = 0, device: torch.device | None = None) -> None:
    """'Standing statistics': re-estimate BN running stats as exact averages over fresh batches,
    so eval-mode sampling (batch independent, hence reproducible per seed) matches training."""
    device = device or next(generator.parameters()).device
    g = torch.Generator(device="cpu").manual_seed(seed)
    for m in generator.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    generator.train()
    for _ in range(batches):
        z = torch.randn(batch_size, generator.z_dim, generator=g).to(device)
        y = torch.randint(0, n_classes, (batch_size,), generator=g).to(device)
        generator(z, y)
    for m in generator.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1
    generator.eval()


def write_sample_grid(path: str | Path, images: np.ndarray, row_labels: list[str], *, title: str = "") -> Path:
    """A PNG grid of (rows*cols, H, W) dB images; matplotlib if installed, else a plain PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = len(row_labels)
    cols = images.shape[0] // rows
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
    lo, hi = float(np.percentile(images, 1)), float(np.percentile(images, 99.5))
    if plt is not None:
        fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols + 1.2, 1.3 * rows + 0.4), squeeze=False)
        for r in range(rows):
            for c in range(cols):
                ax = axes[r][c]
                ax.imshow(images[r * cols + c], origin="lower", aspect="auto", cmap="magma", vmin=lo, vmax=hi)
                ax.set_xticks([])
                ax.set_yticks([])
                if c == 0:
                    ax.set_ylabel(row_labels[r], fontsize=7)
        if title:
            fig.suptitle(title, fontsize=9)
        fig.tight_layout()
        tmp = path.with_suffix(".tmp.png")
        fig.savefig(tmp, dpi=80)
        plt.close(fig)
        tmp.replace(path)
        return path
    from clinaudio_gui.engine.gan.png import write_png_grid
    return write_png_grid(path, images, rows, cols, lo, hi)


def train_gan(examples: list[Example], classes: list[str], features: dict, *, out_dir: str | Path,
              se: bool = True, epochs: int = 10, steps_per_epoch: int | None = None, batch_size: int = 32,
              n_critic: int = 5, lr: float = 1e-4, betas: tuple[float, float] = (0.5, 0.9),
              gp_weight: float = 10.0, z_dim: int = 128, embed_dim: int = 32, g_channels: int = 128,
              d_channels: int = 16, balance_power: float = 0.5, seed: int = 0, device: str | None = None,
              max_seconds: float | None = None, resume: bool = True, extra_manifest: dict | None = None,
              progress: Callable[[dict], None] | None = None, grid_every_epoch: bool = True,
              cancel: Callable[[], bool] | None = None, generator: str = "CBNGenerator", ac_weight: float = 1.0,
              diffaug: tuple[str, ...] = ("translation", "cutout"), finetune_epochs: int = 0,
              finetune_balance: float = 0.0, require_checkpoint: bool = False,
              init_from: str | Path | None = None, critic_warmup: int = 0, ema_decay: float = 0.0) -> Path:
    """Train and write the generator package to out_dir (checkpoint in out_dir/checkpoint).

    An epoch is enough generator steps for the critic to see about len(examples) real patches
    (len / (batch_size * n_critic)), unless steps_per_epoch is given.

    generator: "CBNGenerator" (conditional BN in every block) or "Generator" (class only at the
    input, the session-1 design). ac_weight > 0 adds the auxiliary-classifier (AC-GAN) term: the
    critic's class head is trained on real patches, the generator is rewarded for patches it
    classifies as the intended class. diffaug: DiffAugment policy applied to real and fake
    before the critic (() = off). The last finetune_epochs epochs draw classes with weight
    count ** finetune_balance (0 = uniform: fine-tuning on the rare classes after pretraining on
    all). require_checkpoint: resume must find a matching checkpoint (else an error). init_from: a
    generator package to start from (a plain ``Generator`` is converted exactly into a
    ``CBNGenerator``; its normalisation is kept); ignored when a checkpoint is resumed.
    critic_warmup: critic-only steps before the first generator step of a run that does not resume
    a checkpoint (a package holds no critic, so ``init_from`` starts one from scratch; without a
    warm-up the first generator steps follow a critic that has learnt nothing yet).
    ema_decay: > 0 keeps an exponential moving average of the generator's weights (after every
    generator step, ema = decay * ema + (1 - decay) * weights; it draws no random numbers, so the
    trained generator is the same with or without it), carried through the checkpoint; the package
    is then the averaged generator and ``out_dir/raw`` the trained one. A resumed checkpoint
    without an average starts it from the resumed weights (``training.ema.started_at_step``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(device)
    torch.manual_seed(seed)
    if not examples:
        raise ValueError("no training examples")
    n_classes = len(classes)
    frames, n_mels = features["frames"], features["n_mels"]
    mean, std = normalization_stats(examples)
    sampler = PatchSampler(examples, classes, mean, std, frames, balance_power=balance_power, seed=seed)
    diffaug = tuple(diffaug or ())
    if not 0.0 <= float(ema_decay) < 1.0:
        raise ValueError(f"ema_decay={ema_decay}: the moving average's decay must be in [0, 1)")
    if int(critic_warmup) < 0:
        raise ValueError(f"critic_warmup={critic_warmup}: the number of critic-only steps must be >= 0")
    if set(diffaug) - {"translation", "cutout"}:
        raise ValueError(f"diffaug={','.join(diffaug)!r}: known policies are translation, cutout")
    arch = {"z_dim": z_dim, "embed_dim": embed_dim, "base_channels": g_channels, "se": se,
            "critic_channels": d_channels, "generator": generator,
            "critic": "Critic(projection" + (", auxiliary classifier)" if ac_weight > 0 else ")")}
    G = build_generator(arch, n_classes, n_mels=n_mels, frames=frames).to(dev)
    D = Critic(n_classes, base_channels=d_channels, n_mels=n_mels, frames=frames, ac=ac_weight > 0).to(dev)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    if steps_per_epoch is None:
        steps_per_epoch = max(1, math.ceil(len(examples) / (batch_size * n_critic)))
    start_epoch, history = 0, []
    warmup_done = 0   # critic-only steps of this run, carried through the checkpoint
    init_note = None
    if init_from is not None:
        init_note = _warm_start(G, init_from, arch, classes, features)
        mean = np.asarray(init_note.pop("mean"), np.float32)
        std = np.asarray(init_note.pop("std"), np.float32)
        sampler.mean, sampler.std = mean[:, None], std[:, None]
    ckpt_dir = out / "checkpoint"
    if require_checkpoint and not (ckpt_dir / "manifest.json").is_file():
        raise ValueError(f"--resume: no checkpoint in {ckpt_dir}")
    resumed = None   # (tensors, manifest) of the checkpoint this call continues
    if resume and (ckpt_dir / "manifest.json").is_file():
        tensors, cm = load_model_package(ckpt_dir, kind=CHECKPOINT_KIND)
        same = cm.get("architecture") == arch and cm.get("classes") == list(classes)
        if require_checkpoint and not same:
            raise ValueError(f"--resume: the checkpoint in {ckpt_dir} has another architecture or classes "
                             f"({cm.get('architecture')}, {cm.get('classes')}) than asked ({arch}, {list(classes)})")
        if same:
            resumed = (tensors, cm)
            G.load_state_dict({k[2:]: v for k, v in tensors.items() if k.startswith("G.")})
            D.load_state_dict({k[2:]: v for k, v in tensors.items() if k.startswith("D.")})
            _load_opt("og.", opt_g, tensors, cm["opt_g"])
            _load_opt("od.", opt_d, tensors, cm["opt_d"])
            start_epoch, history = int(cm["epoch"]), list(cm.get("history", []))
            warmup_done = int(cm.get("critic_warmup_steps", 0))
            sampler.rng = np.random.default_rng(seed + 1000 * start_epoch)
            if "rng_torch" in tensors and cm.get("rng_numpy"):  # exact continuation (issue 15 checkpoints)
                torch.set_rng_state(tensors["rng_torch"].to(torch.uint8))
                sampler.rng.bit_generator.state = cm["rng_numpy"]
    ema_saved = resumed[1].get("ema") if resumed else None
    if ema_saved and not ema_decay > 0:
        raise ValueError(f"{ckpt_dir}: the checkpoint keeps a moving average of the generator (decay "
                         f"{ema_saved['decay']}); resume it with that decay (--ema) or start anew (--no-resume)")
    G_ema, ema_note = None, None
    if ema_decay > 0:
        G_ema = copy.deepcopy(G).eval()
        steps_before = int(sum(h.get("steps", 0) for h in history))
        ema_note = {"decay": float(ema_decay), "started_at_step": steps_before}
        if ema_saved:
            if float(ema_saved["decay"]) != float(ema_decay):
                raise ValueError(f"{ckpt_dir}: its moving average has decay {ema_saved['decay']}, not {ema_decay}")
            G_ema.load_state_dict({k[2:]: v for k, v in resumed[0].items() if k.startswith("E.")})
            ema_note = dict(ema_saved)
        for p_ in G_ema.parameters():
            p_.requires_grad_(False)
    fixed_g = torch.Generator(device="cpu").manual_seed(1234)
    grid_cols = 6
    fixed_z = torch.randn(n_classes * grid_cols, z_dim, generator=fixed_g).to(dev)
    fixed_y = torch.arange(n_classes).repeat_interleave(grid_cols).to(dev)
    t0 = time.monotonic()
    stopped = False
    full_p = sampler.class_p.copy()
    counts = np.array([len(b) for b in sampler.by_class], dtype=np.float64)
    ft = np.where(counts > 0, counts ** finetune_balance, 0.0)
    ft_p = ft / ft.sum()

    def aug(x):
        return diff_augment(x, diffaug) if diffaug else x

    def critic_step():
        real, y = sampler.batch(batch_size)
        real, y = real.to(dev), y.to(dev)
        z = torch.randn(batch_size, z_dim, device=dev)
        with torch.no_grad():
            fake = G(z, y)
        real_a, fake_a = aug(real), aug(fake)
        s_real, logit_real = D.score_and_logits(real_a, y)
        d_real, d_fake = s_real.mean(), D(fake_a, y).mean()
        gp = gradient_penalty(D, real_a, fake_a, y)
        d_loss = d_fake - d_real + gp_weight * gp
        ac_real = F.cross_entropy(logit_real, y) if logit_real is not None else torch.zeros((), device=dev)
        d_loss = d_loss + ac_weight * ac_real
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        return d_loss, gp, ac_real, d_real, d_fake

    if start_epoch == 0 and critic_warmup > 0:
        G.train()
        D.train()
        for i in range(int(critic_warmup)):
            d_loss, _, _, d_real, d_fake = critic_step()
            warmup_done += 1
            if progress and i % 50 == 0:
                progress({"epoch": 0, "epochs": epochs, "step": i + 1, "steps": int(critic_warmup),
                          "d_loss": float(d_loss.detach()), "g_loss": 0.0,
                          "w_dist": float((d_real - d_fake).detach()), "elapsed_s": time.monotonic() - t0})
            if (max_seconds is not None and time.monotonic() - t0 > max_seconds) or (cancel and cancel()):
                stopped = True   # out of time during the warm-up: no generator step in this call
                break

    for epoch in range(start_epoch, 0 if stopped else epochs):
        sampler.class_p = ft_p if epoch >= epochs - finetune_epochs else full_p
        G.train()
        D.train()
        sums = {"d_loss": 0.0, "g_loss": 0.0, "gp": 0.0, "w_dist": 0.0, "ac_real": 0.0, "ac_fake": 0.0}
        done = 0
        for step in range(steps_per_epoch):
            for _ in range(n_critic):
                d_loss, gp, ac_real, d_real, d_fake = critic_step()
            y = torch.from_numpy(sampler.rng.choice(n_classes, size=batch_size, p=sampler.class_p)).to(dev)
            z = torch.randn(batch_size, z_dim, device=dev)
            s_fake, logit_fake = D.score_and_logits(aug(G(z, y)), y)
            ac_fake = F.cross_entropy(logit_fake, y) if logit_fake is not None else torch.zeros((), device=dev)
            g_loss = -s_fake.mean() + ac_weight * ac_fake
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            if G_ema is not None:
                with torch.no_grad():
                    for p_e, p_g in zip(G_ema.parameters(), G.parameters()):
                        p_e.lerp_(p_g, 1.0 - ema_decay)
                    for b_e, b_g in zip(G_ema.buffers(), G.buffers()):
                        b_e.copy_(b_g)
            sums["d_loss"] += float(d_loss.detach())
            sums["g_loss"] += float(g_loss.detach())
            sums["gp"] += float(gp.detach())
            sums["w_dist"] += float((d_real - d_fake).detach())
            sums["ac_real"] += float(ac_real.detach())
            sums["ac_fake"] += float(ac_fake.detach())
            done += 1
            if progress and (step % 10 == 0):
                progress({"epoch": epoch + 1, "epochs": epochs, "step": step + 1, "steps": steps_per_epoch,
                          "d_loss": float(d_loss.detach()), "g_loss": float(g_loss.detach()),
                          "w_dist": float((d_real - d_fake).detach()),
                          "elapsed_s": time.monotonic() - t0})
            if (max_seconds is not None and time.monotonic() - t0 > max_seconds) or (cancel and cancel()):
                stopped = True
                break
        rec = {k: v / max(1, done) for k, v in sums.items()}
        rec.update({"epoch": epoch + 1, "steps": done, "elapsed_s": round(time.monotonic() - t0, 1)})
        history.append(rec)
        # checkpoint (generator + critic + optimizer state) every epoch
        tens = {**_state_tensors("G.", G), **_state_tensors("D.", D)}
        tg, mg = _opt_tensors("og.", opt_g)
        td, md = _opt_tensors("od.", opt_d)
        tens.update(tg)
        tens.update(td)
        tens["rng_torch"] = torch.get_rng_state().clone()
        if G_ema is not None:
            tens.update(_state_tensors("E.", G_ema))
        save_model_package(ckpt_dir, tens, {"kind": CHECKPOINT_KIND, "epoch": epoch + 1, "architecture": arch,
                                            "classes": list(classes), "opt_g": mg, "opt_d": md,
                                            "critic_warmup_steps": warmup_done, "history": history,
                                            "rng_numpy": sampler.rng.bit_generator.state, "ema": ema_note})
        if grid_every_epoch:
            G_grid = G if G_ema is None else G_ema
            G_grid.eval()
            with torch.no_grad():
                imgs = G_grid(fixed_z, fixed_y)[:, 0].cpu().numpy() * std[None, :, None] + mean[None, :, None]
            write_sample_grid(out / "samples" / f"epoch_{epoch + 1:03d}.png", imgs, list(classes),
                              title=f"epoch {epoch + 1}  W={rec['w_dist']:.2f}")
        if progress:
            progress({"epoch_done": epoch + 1, "epochs": epochs, **rec})
        if stopped:
            break
    G_final = G if G_ema is None else G_ema
    refresh_batchnorm(G, n_classes, seed=seed, device=dev)
    if G_ema is not None:
        refresh_batchnorm(G_ema, n_classes, seed=seed, device=dev)
    manifest = {
        "kind": KIND,
        "task": "gan",
        "classes": list(classes),
        "features": dict(features),
        "normalization": {"mean_db": [round(float(v), 5) for v in mean],
                          "std_db": [round(float(v), 5) for v in std], "per": "mel band"},
        "architecture": arch,
        "training": {"epochs_done": history[-1]["epoch"] if history else 0, "epochs_requested": epochs,
                     "steps_per_epoch": steps_per_epoch, "batch_size": batch_size, "n_critic": n_critic,
                     "lr": lr, "betas": list(betas), "gp_weight": gp_weight, "balance_power": balance_power,
                     "ac_weight": ac_weight, "diffaug": list(diffaug), "finetune_epochs": finetune_epochs,
                     "finetune_balance": finetune_balance, "critic_warmup_steps": warmup_done,
                     "generator_steps": int(sum(h["steps"] for h in history)),
                     "seed": seed, "device": str(dev), "stopped_early": stopped, "ema": ema_note,
                     "examples": len(examples),
                     "class_counts": {c: sum(1 for e in examples if e.label == c) for c in classes},
                     "seconds": round(time.monotonic() - t0, 1)},
        "history": history,
    }
    if init_note:
        manifest["init_from"] = init_note
    if extra_manifest:
        manifest.update(extra_manifest)
    if G_ema is not None:   # the trained (not averaged) generator beside the package, for comparison
        raw = copy.deepcopy(manifest)
        raw["training"]["ema"] = None
        raw["note"] = f"the trained generator of {out.name}, whose package is its moving average"
        save_model_package(out / "raw", _state_tensors("", G), raw)
    save_model_package(out, _state_tensors("", G_final), manifest)
    return out


def _warm_start(G: nn.Module, init_from, arch: dict, classes, features: dict) -> dict:
    """Load a generator package into G (converting a plain Generator into a CBNGenerator)."""
    from clinaudio_gui.engine.gan.model import cbn_state_from_plain
    tensors, man = load_model_package(init_from, kind=KIND)
    src = man.get("architecture", {})
    if list(man["classes"]) != list(classes):
        raise ValueError(f"--init-from {init_from}: classes {man['classes']} differ from {list(classes)}")
    for k in ("sample_rate_hz", "n_fft", "hop", "n_mels", "frames"):
        if man["features"].get(k) != features.get(k):
            raise ValueError(f"--init-from {init_from}: feature {k} differs")
    for k in ("z_dim", "embed_dim", "base_channels", "se"):
        if src.get(k) != arch[k]:
            raise ValueError(f"--init-from {init_from}: architecture {k}={src.get(k)} differs from {arch[k]}")
    if src.get("generator", "Generator") == "Generator" and arch["generator"] == "CBNGenerator":
        tensors = cbn_state_from_plain(tensors, len(classes))
    elif src.get("generator", "Generator") != arch["generator"]:
        raise ValueError(f"--init-from {init_from}: cannot convert {src.get('generator')} to {arch['generator']}")
    G.load_state_dict(tensors, strict=True)
    steps = int(sum(h.get("steps", 0) for h in man.get("history", [])))
    return {"package": str(Path(init_from).resolve()), "weights_sha256": man.get("weights_sha256"),
            "architecture": src, "generator_steps": steps,
            "mean": man["normalization"]["mean_db"], "std": man["normalization"]["std_db"]}


def load_manifest_json(model_dir: str | Path) -> dict:
    return json.loads((Path(model_dir) / "manifest.json").read_text(encoding="utf-8"))
