"""Class-conditional WGAN-GP on log-mel patches, with residual Squeeze-and-Excitation generator.

After Margaryan, Seibold et al., "Improved Techniques for the Conditional Generative
Augmentation of Clinical Audio Data" (residual SE modules in the generator) and its predecessor
(MICCAI 2022: conditional WGAN-GP on 64 x 64 log-mel patches).

* Generator: [z (128) ; class embedding (32)] -> linear -> 256 x 4 x 4, then four stages, each
  nearest x2 upsampling + 3x3 conv + BN + ReLU followed by one residual block
  ``x + SE(conv-BN-ReLU-conv-BN(x))``; SE = global average pool (squeeze) -> MLP C -> C/4 -> C with a
  sigmoid gate (excitation) that rescales the channels. ``se=False`` (``--no-se``) keeps the
  residual conv blocks but drops the SE gate, so the ablation isolates the SE modules.
* Critic: four stride-2 4x4 convs with LeakyReLU (no batch norm: the gradient penalty is per
  example), global sum pooling, and a projection term ``<embed(y), h>`` for the class.
* Loss: Wasserstein + gradient penalty 10, 5 critic steps per generator step, Adam 1e-4,
  betas (0.5, 0.9), as in the predecessor.

Images are normalized per mel band with the training set's mean and std (stored in the manifest).
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from clinaudio_gui.core.errors import ModelPackageError
from clinaudio_gui.engine.gan_data import Example, crop, mel_db_to_audio

KIND = "gan-generator"
CHECKPOINT_KIND = "gan-checkpoint"


class SEBlock(nn.Module):
    """Squeeze (global average pool) and excitation (MLP + sigmoid): a per-channel gate in (0, 1)."""

    def __init__(self, channels: int, *, reduction: int = 4):
        super().__init__()
        hidden = max(4, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3))
        return torch.sigmoid(self.fc2(F.relu(self.fc1(s))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)[:, :, None, None]


class ResidualBlock(nn.Module):
    """x + SE(body(x)) (or x + body(x) without SE), then ReLU."""

    def __init__(self, channels: int, *, se: bool = True):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        self.se = SEBlock(channels) if se else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        if self.se is not None:
            h = self.se(h)
        return F.relu(x + h)


class Generator(nn.Module):
    def __init__(self, n_classes: int, *, z_dim: int = 128, embed_dim: int = 32, base_channels: int = 256,
                 n_mels: int = 64, frames: int = 64, se: bool = True):
        super().__init__()
        if n_mels % 16 or frames % 16:
            raise ValueError(f"n_mels={n_mels} and frames={frames} must be multiples of 16")
        self.n_classes, self.z_dim, self.n_mels, self.frames = n_classes, z_dim, n_mels, frames
        self.h0, self.w0 = n_mels // 16, frames // 16
        self.embed = nn.Embedding(n_classes, embed_dim)
        self.fc = nn.Linear(z_dim + embed_dim, base_channels * self.h0 * self.w0)
        self.bn0 = nn.BatchNorm2d(base_channels)
        stages = []
        ch = base_channels
        for _ in range(4):
            out = ch // 2
            stages.append(nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(ch, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(),
                ResidualBlock(out, se=se)))
            ch = out
        self.stages = nn.Sequential(*stages)
        self.out = nn.Conv2d(ch, 1, 3, padding=1)
        self.base_channels = base_channels

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, self.embed(y)], dim=1))
        h = F.relu(self.bn0(h.view(z.shape[0], self.base_channels, self.h0, self.w0)))
        return self.out(self.stages(h))  # (B, 1, n_mels, frames), normalized units


class Critic(nn.Module):
    def __init__(self, n_classes: int, *, base_channels: int = 32, n_mels: int = 64, frames: int = 64):
        super().__init__()
        chans = [1, base_channels, base_channels * 2, base_channels * 4, base_channels * 8]
        layers = []
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(a, b, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.linear = nn.Linear(chans[-1], 1)
        self.embed = nn.Embedding(n_classes, chans[-1])

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.features(x).sum(dim=(2, 3))
        return self.linear(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates (Gulrajani et al. 2017)."""
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = critic(x_hat, y)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


def pick_device(name: str | None) -> torch.device:
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={name!r}: CUDA is not available on this machine")
    return dev


# ---------------------------------------------------------------------------------------------
# sampling from a packaged generator

class GanSampler:
    """A loaded generator package: class names, features, normalization; sample and invert."""

    def __init__(self, generator: Generator, manifest: dict, device: torch.device | None = None):
        self.generator = generator.eval()
        self.manifest = manifest
        self.classes: list[str] = list(manifest["classes"])
        self.features: dict = dict(manifest["features"])
        self.mean = np.asarray(manifest["normalization"]["mean_db"], dtype=np.float32)
        self.std = np.asarray(manifest["normalization"]["std_db"], dtype=np.float32)
        self.device = device or torch.device("cpu")
        self.generator.to(self.device)

    @classmethod
    def load(cls, model_dir: str | Path | None = None, *, device: str | None = "cpu") -> GanSampler:
        from clinaudio_gui.engine.package import load_model_package
        d = Path(model_dir) if model_dir else default_model_dir()
        tensors, manifest = load_model_package(d, kind=KIND)
        arch = manifest.get("architecture", {})
        try:
            g = Generator(len(manifest["classes"]), z_dim=arch["z_dim"], embed_dim=arch["embed_dim"],
                          base_channels=arch["base_channels"], n_mels=manifest["features"]["n_mels"],
                          frames=manifest["features"]["frames"], se=arch["se"])
            g.load_state_dict(tensors, strict=True)
        except (KeyError, RuntimeError) as e:
            raise ModelPackageError(f"generator weights do not match the manifest: {e}", path=d) from None
        return cls(g, manifest, pick_device(device))

    def class_index(self, label: str) -> int:
        for i, c in enumerate(self.classes):
            if c == label or c.lower() == label.strip().lower():
                return i
        raise ValueError(f"label={label!r} is not a class of this generator ({', '.join(self.classes)})")

    @torch.no_grad()
    def sample_normalized(self, label: str, n: int, *, seed: int = 0) -> np.ndarray:
        if n < 1:
            raise ValueError(f"n={n} must be >= 1")
        y = torch.full((n,), self.class_index(label), dtype=torch.long, device=self.device)
        g = torch.Generator(device="cpu").manual_seed(int(seed))
        z = torch.randn(n, self.generator.z_dim, generator=g).to(self.device)
        return self.generator(z, y)[:, 0].float().cpu().numpy()

    def sample(self, label: str, n: int, *, seed: int = 0) -> np.ndarray:
        """(n, n_mels, frames) log-mel in dB; the same seed gives the same images."""
        x = self.sample_normalized(label, n, seed=seed)
        floor = -float(self.features.get("top_db", 80.0))
        return np.maximum(x * self.std[None, :, None] + self.mean[None, :, None], floor).astype(np.float32)

    def to_audio(self, img_db: np.ndarray, *, n_iter: int = 48) -> np.ndarray:
        return mel_db_to_audio(img_db, self.features, n_iter=n_iter)


def default_model_dir() -> Path:
    from clinaudio_gui.engine.package import models_root
    return models_root() / "gan-sprsound-events"


# ---------------------------------------------------------------------------------------------
# training

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
def refresh_batchnorm(generator: Generator, n_classes: int, *, batches: int = 8, batch_size: int = 32,
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
    from clinaudio_gui.engine.gan_png import write_png_grid
    return write_png_grid(path, images, rows, cols, lo, hi)


def train_gan(examples: list[Example], classes: list[str], features: dict, *, out_dir: str | Path,
              se: bool = True, epochs: int = 10, steps_per_epoch: int | None = None, batch_size: int = 32,
              n_critic: int = 5, lr: float = 1e-4, betas: tuple[float, float] = (0.5, 0.9),
              gp_weight: float = 10.0, z_dim: int = 128, embed_dim: int = 32, g_channels: int = 128,
              d_channels: int = 16, balance_power: float = 0.5, seed: int = 0, device: str | None = None,
              max_seconds: float | None = None, resume: bool = True, extra_manifest: dict | None = None,
              progress: Callable[[dict], None] | None = None, grid_every_epoch: bool = True,
              cancel: Callable[[], bool] | None = None) -> Path:
    """Train and write the generator package to out_dir (checkpoint in out_dir/checkpoint).

    An epoch is enough generator steps for the critic to see about len(examples) real patches
    (len / (batch_size * n_critic)), unless steps_per_epoch is given.
    """
    from clinaudio_gui.engine.package import load_model_package, save_model_package
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dev = pick_device(device)
    torch.manual_seed(seed)
    if not examples:
        raise ValueError("no training examples")
    n_classes = len(classes)
    frames, n_mels = features["frames"], features["n_mels"]
    mean, std = normalization_stats(examples)
    sampler = PatchSampler(examples, classes, mean, std, frames, balance_power=balance_power, seed=seed)
    G = Generator(n_classes, z_dim=z_dim, embed_dim=embed_dim, base_channels=g_channels, n_mels=n_mels,
                  frames=frames, se=se).to(dev)
    D = Critic(n_classes, base_channels=d_channels, n_mels=n_mels, frames=frames).to(dev)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    if steps_per_epoch is None:
        steps_per_epoch = max(1, math.ceil(len(examples) / (batch_size * n_critic)))
    start_epoch, history = 0, []
    ckpt_dir = out / "checkpoint"
    arch = {"z_dim": z_dim, "embed_dim": embed_dim, "base_channels": g_channels, "se": se,
            "critic_channels": d_channels, "generator": "Generator", "critic": "Critic(projection)"}
    if resume and (ckpt_dir / "manifest.json").is_file():
        tensors, cm = load_model_package(ckpt_dir, kind=CHECKPOINT_KIND)
        if cm.get("architecture") == arch and cm.get("classes") == list(classes):
            G.load_state_dict({k[2:]: v for k, v in tensors.items() if k.startswith("G.")})
            D.load_state_dict({k[2:]: v for k, v in tensors.items() if k.startswith("D.")})
            _load_opt("og.", opt_g, tensors, cm["opt_g"])
            _load_opt("od.", opt_d, tensors, cm["opt_d"])
            start_epoch, history = int(cm["epoch"]), list(cm.get("history", []))
            sampler.rng = np.random.default_rng(seed + 1000 * start_epoch)
    fixed_g = torch.Generator(device="cpu").manual_seed(1234)
    grid_cols = 6
    fixed_z = torch.randn(n_classes * grid_cols, z_dim, generator=fixed_g).to(dev)
    fixed_y = torch.arange(n_classes).repeat_interleave(grid_cols).to(dev)
    t0 = time.monotonic()
    stopped = False
    for epoch in range(start_epoch, epochs):
        G.train()
        D.train()
        sums = {"d_loss": 0.0, "g_loss": 0.0, "gp": 0.0, "w_dist": 0.0}
        done = 0
        for step in range(steps_per_epoch):
            for _ in range(n_critic):
                real, y = sampler.batch(batch_size)
                real, y = real.to(dev), y.to(dev)
                z = torch.randn(batch_size, z_dim, device=dev)
                with torch.no_grad():
                    fake = G(z, y)
                d_real, d_fake = D(real, y).mean(), D(fake, y).mean()
                gp = gradient_penalty(D, real, fake, y)
                d_loss = d_fake - d_real + gp_weight * gp
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
            y = torch.from_numpy(sampler.rng.choice(n_classes, size=batch_size, p=sampler.class_p)).to(dev)
            z = torch.randn(batch_size, z_dim, device=dev)
            g_loss = -D(G(z, y), y).mean()
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            sums["d_loss"] += float(d_loss.detach())
            sums["g_loss"] += float(g_loss.detach())
            sums["gp"] += float(gp.detach())
            sums["w_dist"] += float((d_real - d_fake).detach())
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
        save_model_package(ckpt_dir, tens, {"kind": CHECKPOINT_KIND, "epoch": epoch + 1, "architecture": arch,
                                            "classes": list(classes), "opt_g": mg, "opt_d": md,
                                            "history": history})
        if grid_every_epoch:
            G.eval()
            with torch.no_grad():
                imgs = G(fixed_z, fixed_y)[:, 0].cpu().numpy() * std[None, :, None] + mean[None, :, None]
            write_sample_grid(out / "samples" / f"epoch_{epoch + 1:03d}.png", imgs, list(classes),
                              title=f"epoch {epoch + 1}  W={rec['w_dist']:.2f}")
        if progress:
            progress({"epoch_done": epoch + 1, "epochs": epochs, **rec})
        if stopped:
            break
    G_final = G
    refresh_batchnorm(G_final, n_classes, seed=seed, device=dev)
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
                     "seed": seed, "device": str(dev), "stopped_early": stopped,
                     "examples": len(examples),
                     "class_counts": {c: sum(1 for e in examples if e.label == c) for c in classes},
                     "seconds": round(time.monotonic() - t0, 1)},
        "history": history,
    }
    if extra_manifest:
        manifest.update(extra_manifest)
    save_model_package(out, _state_tensors("", G_final), manifest)
    return out


def load_manifest_json(model_dir: str | Path) -> dict:
    return json.loads((Path(model_dir) / "manifest.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# export of kept synthetic samples as a labeled data set

#: SPRSound record label implied by a single synthetic event of each class
EVENT_TO_RECORD = {"Normal": "Normal", "Rhonchi": "CAS", "Wheeze": "CAS", "Stridor": "CAS",
                   "Coarse Crackle": "DAS", "Fine Crackle": "DAS", "Wheeze+Crackle": "CAS & DAS"}


def export_samples(out_dir: str | Path, samples: list[dict], manifest: dict, *, model_dir: str | Path | None = None
                   ) -> list[Path]:
    """Write kept samples as a data set folder: per sample ``<stem>.wav`` (Griffin-Lim audio),
    ``<stem>.npy`` (the generated log-mel, dB) and ``<stem>.json`` (SPRSound labels: one event
    covering the clip, or the record label for a record-level generator), plus ``manifest.json``
    listing generator, seed, index and label of each file. Each sample dict needs label, seed,
    index, mel_db and audio. Existing files are never overwritten (a new suffix is used)."""
    from clinaudio_gui.core.annotations import AnnotationSet
    from clinaudio_gui.core.atomic import atomic_write_text
    from clinaudio_gui.core.segment import Segment
    from clinaudio_gui.io import write_audio, write_sprsound
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    feat = manifest["features"]
    sr = int(feat["sample_rate_hz"])
    level = (manifest.get("training_data") or {}).get("labels", "events")
    rows, written = [], []
    for s in samples:
        safe = "".join(ch if ch.isalnum() else "-" for ch in s["label"])
        stem = f"gan_{safe}_s{s['seed']}_{s['index']:03d}"
        k = 1
        while (out / f"{stem}.wav").exists() or (out / f"{stem}.json").exists():
            k += 1
            stem = f"gan_{safe}_s{s['seed']}_{s['index']:03d}_{k}"
        y = np.asarray(s["audio"], np.float32)
        dur_s = len(y) / sr
        write_audio(out / f"{stem}.wav", y, sr)
        tmp = out / f"{stem}.tmp.npy"
        np.save(tmp, np.asarray(s["mel_db"], np.float32))
        tmp.replace(out / f"{stem}.npy")
        if level == "records":
            ann = AnnotationSet([], s["label"], {})
        else:
            ann = AnnotationSet([Segment(0.0, round(dur_s, 3), s["label"], source="model")],
                                EVENT_TO_RECORD.get(s["label"], s["label"]), {})
        write_sprsound(out / f"{stem}.json", ann)
        rows.append({"audio": f"{stem}.wav", "labels": f"{stem}.json", "mel": f"{stem}.npy", "label": s["label"],
                     "seed": s["seed"], "index": s["index"], "duration_s": round(dur_s, 4)})
        written.append(out / f"{stem}.wav")
    mpath = out / "manifest.json"
    old = []
    if mpath.is_file():
        try:
            old = json.loads(mpath.read_text(encoding="utf-8")).get("samples", [])
        except (OSError, ValueError):
            old = []
    from clinaudio_gui import __version__
    atomic_write_text(mpath, json.dumps({
        "kind": "synthetic-dataset", "generator": str(model_dir) if model_dir else None,
        "generator_sha256": manifest.get("weights_sha256"), "features": feat,
        "audio": "Griffin-Lim (librosa mel inversion) of the generated log-mel", "software_version": __version__,
        "samples": old + rows}, indent=1) + "\n")
    return written
