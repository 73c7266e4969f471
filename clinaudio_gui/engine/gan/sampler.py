"""A packaged generator, loaded: class names, features, normalization; sample and invert to audio."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from clinaudio_gui.core.errors import ModelPackageError
from clinaudio_gui.engine.common.device import resolve_device
from clinaudio_gui.engine.common.package import load_model_package, models_root
from clinaudio_gui.engine.gan.data import mel_db_to_audio, peak_limit
from clinaudio_gui.engine.gan.model import KIND, build_generator

#: the audition vocoders of ``GanSampler.to_audio``
VOCODERS = ("refined", "griffin-lim")


class GanSampler:
    """A loaded generator package: class names, features, normalization; sample and invert."""

    def __init__(self, generator: torch.nn.Module, manifest: dict, device: torch.device | None = None):
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
        d = Path(model_dir) if model_dir else default_model_dir()
        tensors, manifest = load_model_package(d, kind=KIND)
        arch = manifest.get("architecture", {})
        try:
            g = build_generator(arch, len(manifest["classes"]), n_mels=manifest["features"]["n_mels"],
                                frames=manifest["features"]["frames"])
            g.load_state_dict(tensors, strict=True)
        except (KeyError, RuntimeError, ValueError) as e:
            raise ModelPackageError(f"generator weights do not match the manifest: {e}", path=d) from None
        return cls(g, manifest, resolve_device(device))

    def class_index(self, label: str) -> int:
        for i, c in enumerate(self.classes):
            if c == label or c.lower() == label.strip().lower():
                return i
        raise ValueError(f"label={label!r} is not a class of this generator ({', '.join(self.classes)})")

    @torch.no_grad()
    def sample_normalized(self, label: str, n: int, *, seed: int = 0, truncation: float | None = None
                          ) -> np.ndarray:
        if n < 1:
            raise ValueError(f"n={n} must be >= 1")
        y = torch.full((n,), self.class_index(label), dtype=torch.long, device=self.device)
        z = latents(n, self.generator.z_dim, seed=seed, truncation=truncation).to(self.device)
        return self.generator(z, y)[:, 0].float().cpu().numpy()

    def sample(self, label: str, n: int, *, seed: int = 0, truncation: float | None = None) -> np.ndarray:
        """(n, n_mels, frames) log-mel in dB; the same seed gives the same images. truncation t:
        latent components with |z| > t are redrawn (the truncation trick: fewer, more typical
        samples; None = plain normal latents)."""
        x = self.sample_normalized(label, n, seed=seed, truncation=truncation)
        floor = -float(self.features.get("top_db", 80.0))
        return np.maximum(x * self.std[None, :, None] + self.mean[None, :, None], floor).astype(np.float32)

    def patch_seconds(self) -> float:
        f = self.features
        return f["frames"] * f["hop"] / f["sample_rate_hz"]

    def sample_long(self, label: str, n: int, duration_s: float, *, seed: int = 0,
                    truncation: float | None = None, overlap: int = 16) -> np.ndarray:
        """(n, n_mels, T) dB patches of about duration_s: generator outputs tiled along time with an
        ``overlap``-frame linear cross-fade (each tile its own latent; tile j of sample i uses the
        latent of seed*1000003 + j, so the first tile equals ``sample(label, n, seed=seed)``)."""
        f = self.features
        frames = int(f["frames"])
        t_total = max(frames, int(round(duration_s * f["sample_rate_hz"] / f["hop"])))
        if t_total <= frames:
            return self.sample(label, n, seed=seed, truncation=truncation)
        if not 0 <= overlap < frames:
            raise ValueError(f"overlap={overlap} must be in [0, {frames})")
        step = frames - overlap
        k = int(np.ceil((t_total - frames) / step)) + 1
        tiles = [self.sample(label, n, seed=seed if j == 0 else int(seed) * 1000003 + j, truncation=truncation)
                 for j in range(k)]
        out = np.zeros((n, tiles[0].shape[1], step * (k - 1) + frames), np.float32)
        weight = np.zeros(out.shape[2], np.float32)
        ramp = np.ones(frames, np.float32)
        if overlap:
            ramp[:overlap] = np.linspace(0, 1, overlap + 2, dtype=np.float32)[1:-1]
            ramp[-overlap:] = ramp[:overlap][::-1]
        for j, t in enumerate(tiles):
            w = ramp.copy()
            if j == 0 and overlap:
                w[:overlap] = 1
            if j == k - 1 and overlap:
                w[-overlap:] = 1
            out[:, :, j * step:j * step + frames] += t * w[None, None, :]
            weight[j * step:j * step + frames] += w
        return (out / weight[None, None, :])[:, :, :t_total]

    def band_centres_hz(self) -> np.ndarray:
        """Centre frequency (Hz) of each mel band, low to high (for axes)."""
        import librosa
        f = self.features
        return librosa.mel_frequencies(int(f["n_mels"]) + 2, fmin=f["f_min_hz"], fmax=f["f_max_hz"])[1:-1]

    def to_audio(self, img_db: np.ndarray, *, n_iter: int = 100, vocoder: str = "refined") -> np.ndarray:
        """Audio for auditioning. ``vocoder="griffin-lim"``: fast Griffin-Lim (momentum 0.99), 100
        iterations (on 40 real SPRSound mels closer to the input mel than the 48 iterations used
        before: spectral convergence 0.066 vs 0.073, log-mel distance 1.50 vs 1.61 dB).
        ``"refined"`` (the default since session 24): that audio, then moved by gradient descent
        towards the mel it was asked for (``vocoder.refine``), measured closer again
        (bench/gan_vocoder_bench.py, docs/benchmarks.md) at about twice the time. The detector's
        and classifiers' GAN items keep Griffin-Lim (their measured recipes)."""
        if vocoder not in VOCODERS:
            raise ValueError(f"vocoder {vocoder!r}: expected one of {', '.join(VOCODERS)}")
        y = mel_db_to_audio(img_db, self.features, n_iter=n_iter, momentum=0.99, peak=vocoder == "griffin-lim")
        if vocoder == "refined":
            from clinaudio_gui.engine.gan.vocoder import refine
            y = peak_limit(refine(y, img_db, self.features))
        return y


def latents(n: int, z_dim: int, *, seed: int = 0, truncation: float | None = None) -> torch.Tensor:
    """(n, z_dim) standard normal latents from a seed; with truncation t, every component with
    |z| > t is redrawn until inside (a truncated normal), reproducibly from the same seed."""
    if truncation is not None and truncation <= 0:
        raise ValueError(f"truncation={truncation} must be > 0")
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    z = torch.randn(n, z_dim, generator=g)
    if truncation is not None:
        for _ in range(100):
            bad = z.abs() > truncation
            if not bad.any():
                break
            z = torch.where(bad, torch.randn(n, z_dim, generator=g), z)
        z = z.clamp(-truncation, truncation)
    return z


def default_model_dir() -> Path:
    return models_root() / "gan-sprsound-events"
