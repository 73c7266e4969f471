"""A packaged generator, loaded: class names, features, normalization; sample and invert to audio."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from clinaudio_gui.core.errors import ModelPackageError
from clinaudio_gui.engine.common.device import resolve_device
from clinaudio_gui.engine.common.package import load_model_package, models_root
from clinaudio_gui.engine.gan.data import mel_db_to_audio
from clinaudio_gui.engine.gan.model import KIND, Generator


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
        return cls(g, manifest, resolve_device(device))

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
    return models_root() / "gan-sprsound-events"
