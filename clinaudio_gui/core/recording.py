"""A recording: its file and shape; samples are loaded lazily, only when asked for."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

# loader(path, start_frame, stop_frame) -> float32 array shaped (frames, channels)
Loader = Callable[[Path, int, int | None], np.ndarray]


@dataclass
class Recording:
    path: Path
    sample_rate_hz: int
    channels: int
    frames: int
    format: str = ""
    loader: Loader | None = field(default=None, repr=False, compare=False)
    _cache: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def duration_s(self) -> float:
        return self.frames / float(self.sample_rate_hz) if self.sample_rate_hz else 0.0

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def stem(self) -> str:
        return Path(self.path).stem

    def read(self, start_s: float = 0.0, end_s: float | None = None, *, channel: int | None = None
             ) -> np.ndarray:
        """Samples of [start_s, end_s) as float32: mono mixdown, or one channel if given."""
        if self.loader is None:
            raise RuntimeError(f"{self.path}: no loader attached (open it with clinaudio_gui.io.open_audio)")
        start = max(0, int(round(start_s * self.sample_rate_hz)))
        stop = None if end_s is None else min(self.frames, int(round(end_s * self.sample_rate_hz)))
        if self._cache is not None:
            block = self._cache[start:stop]
        else:
            block = self.loader(Path(self.path), start, stop)
        if block.ndim == 1:
            return block.astype(np.float32, copy=False)
        if channel is not None:
            if not 0 <= channel < block.shape[1]:
                raise ValueError(f"channel={channel} out of range for {self.channels} channel(s)")
            return np.ascontiguousarray(block[:, channel], dtype=np.float32)
        return block.mean(axis=1, dtype=np.float32)

    @property
    def samples(self) -> np.ndarray:
        """All frames (frames, channels), float32, loaded on first access and kept."""
        if self._cache is None:
            if self.loader is None:
                raise RuntimeError(f"{self.path}: no loader attached")
            data = self.loader(Path(self.path), 0, None)
            self._cache = data if data.ndim == 2 else data[:, None]
        return self._cache

    def unload(self) -> None:
        self._cache = None
