"""Tile computation for the viewer (no Qt): waveform min/max pyramid and spectrogram tiles.

Why tiles: a 60-minute 44.1 kHz recording has ~159 M samples; the viewer must never hold
them all, nor compute a full-resolution spectrogram of the whole file. The time axis is cut
into tiles of ``TILE_COLUMNS`` columns; tile level ``L`` has a column stride of
``hop * 2**L`` samples, so the viewer picks the level whose columns match the screen pixels
and only computes (in a worker) the tiles it can show, caching them.

Frame-based kinds (STFT, mel) read only the ``n_fft`` samples around each column, so a
zoomed-out view of a long file never reads the whole file. Filter-bank kinds (gammatone,
CWT) need contiguous audio: they run on the tile's span (with a margin) via ``clinaudio_gui.dsp``.
"""
from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from clinaudio_gui.dsp import make_spec, power_to_db   # imported up front, not in the first tile

TILE_COLUMNS = 256
KINDS = ("stft", "mel", "gammatone", "cwt")
KIND_TITLES = {"stft": "STFT", "mel": "Mel", "gammatone": "Gammatone", "cwt": "CWT (Morlet)"}
COLORMAPS = ("viridis", "magma", "inferno", "plasma", "cividis", "grey")


@dataclass(frozen=True)
class SpectroSettings:
    """Everything that changes the spectrogram image; hashable (part of the tile cache key)."""

    kind: str = "stft"
    n_fft: int = 512
    hop: int = 128
    n_bands: int = 64            # mel / gammatone bands, CWT scales
    f_min_hz: float = 0.0
    f_max_hz: float = 4000.0
    db_min: float = -100.0
    db_max: float = -20.0
    auto_db: bool = True         # pick db_max from the first tiles once, then keep it fixed
    colormap: str = "viridis"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} must be one of {KINDS}")
        if self.n_fft < 16 or self.n_fft & (self.n_fft - 1):
            raise ValueError(f"n_fft={self.n_fft} must be a power of two >= 16")
        if not 1 <= self.hop <= self.n_fft:
            raise ValueError(f"hop={self.hop} must be within [1, n_fft={self.n_fft}]")
        if self.n_bands < 4:
            raise ValueError(f"n_bands={self.n_bands} must be >= 4")
        if not 0 <= self.f_min_hz < self.f_max_hz:
            raise ValueError(f"f_min_hz={self.f_min_hz} must be >= 0 and < f_max_hz={self.f_max_hz}")
        if not self.db_min < self.db_max:
            raise ValueError(f"db_min={self.db_min} must be < db_max={self.db_max}")

    def compute_key(self) -> tuple:
        """The fields that change the computed dB values (not the display levels / colours)."""
        return (self.kind, self.n_fft, self.hop, self.n_bands, self.f_min_hz, self.f_max_hz)

    def replace(self, **kw) -> "SpectroSettings":
        return replace(self, **kw)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SpectroSettings":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def default_for(cls, sample_rate_hz: int) -> "SpectroSettings":
        """Lung sounds (breath, crackles, wheezes) live in about 50-2000 Hz: show that band by default."""
        n_fft = 512 if sample_rate_hz <= 16000 else 2048
        lo, hi = lung_band_hz(sample_rate_hz)
        return cls(n_fft=n_fft, hop=n_fft // 4, f_min_hz=lo, f_max_hz=hi)

    def is_full_band(self, sample_rate_hz: int) -> bool:
        return self.f_min_hz <= 0.0 and self.f_max_hz >= sample_rate_hz / 2

    def with_band(self, full: bool, sample_rate_hz: int) -> "SpectroSettings":
        """The full band (0 Hz to Nyquist) or the lung-sound band."""
        lo, hi = (0.0, float(sample_rate_hz / 2)) if full else lung_band_hz(sample_rate_hz)
        return self.replace(f_min_hz=lo, f_max_hz=hi)


LUNG_BAND_HZ = (50.0, 2000.0)


def lung_band_hz(sample_rate_hz: int) -> tuple[float, float]:
    """50-2000 Hz, cut at Nyquist for low sample rates (a 4 kHz recording: 50-2000 Hz still)."""
    lo, hi = LUNG_BAND_HZ
    nyq = float(sample_rate_hz / 2)
    return (min(lo, nyq / 4), min(hi, nyq))


# --------------------------------------------------------------------------------------
# audio access: a per-thread soundfile handle, reads by frame range (never the whole file)

class BlockReader:
    """Reads mono float32 frames by range from one file; one handle per thread."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._local = threading.local()
        with sf.SoundFile(self.path) as f:
            self.frames = int(f.frames)
            self.sample_rate_hz = int(f.samplerate)
            self.channels = int(f.channels)

    def _file(self) -> sf.SoundFile:
        f = getattr(self._local, "f", None)
        if f is None or f.closed:
            f = sf.SoundFile(self.path)
            self._local.f = f
        return f

    def read(self, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop), zero-padded outside the file, mono float32."""
        n = stop - start
        out = np.zeros(n, np.float32)
        a, b = max(0, start), min(self.frames, stop)
        if b <= a:
            return out
        f = self._file()
        f.seek(a)
        data = f.read(b - a, dtype="float32", always_2d=True)
        mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
        out[a - start:a - start + mono.shape[0]] = mono
        return out

    def close(self) -> None:
        f = getattr(self._local, "f", None)
        if f is not None:
            f.close()


# --------------------------------------------------------------------------------------
# waveform min/max pyramid

class MinMaxPyramid:
    """Min/max of every ``base`` samples, then of 4x coarser bins per level.

    Built block by block (``build`` in a worker), so memory stays ~ 2 * frames / base floats
    and the visible start is ready first. ``filled_frames`` says how far it has got.
    """

    def __init__(self, frames: int, *, base: int = 64, factor: int = 4):
        self.frames = frames
        self.base = base
        self.factor = factor
        self.levels: list[tuple[np.ndarray, np.ndarray]] = []
        n = math.ceil(frames / base)
        size = base
        self.bin_sizes: list[int] = []
        while True:
            self.levels.append((np.zeros(n, np.float32), np.zeros(n, np.float32)))
            self.bin_sizes.append(size)
            if n <= 2048:
                break
            n = math.ceil(n / factor)
            size *= factor
        self.filled_frames = 0
        self.cancelled = False

    def build(self, reader: BlockReader, *, block: int = 1 << 20, progress=None) -> None:
        block -= block % (self.base * self.factor ** (len(self.levels) - 1)) or 0
        block = max(block, self.base * self.factor ** (len(self.levels) - 1))
        pos = 0
        while pos < self.frames and not self.cancelled:
            stop = min(self.frames, pos + block)
            y = reader.read(pos, stop)
            self._add(pos, y)
            pos = stop
            self.filled_frames = pos
            if progress is not None:
                progress(pos)

    def _add(self, pos: int, y: np.ndarray) -> None:
        b = self.base
        i0 = pos // b
        n = math.ceil(y.shape[0] / b)
        pad = n * b - y.shape[0]
        if pad:
            y = np.concatenate([y, np.full(pad, y[-1], np.float32)])
        r = y.reshape(n, b)
        lo, hi = self.levels[0]
        lo[i0:i0 + n] = r.min(axis=1)
        hi[i0:i0 + n] = r.max(axis=1)
        for li in range(1, len(self.levels)):
            f = self.factor
            plo, phi = self.levels[li - 1]
            j0, j1 = i0 // f, math.ceil((i0 + n) / f)
            s0, s1 = j0 * f, min(plo.shape[0], j1 * f)
            cnt = s1 - s0
            full = cnt // f
            lo_l, hi_l = self.levels[li]
            if full:
                lo_l[j0:j0 + full] = plo[s0:s0 + full * f].reshape(full, f).min(axis=1)
                hi_l[j0:j0 + full] = phi[s0:s0 + full * f].reshape(full, f).max(axis=1)
            if cnt % f:
                lo_l[j0 + full] = plo[s0 + full * f:s1].min()
                hi_l[j0 + full] = phi[s0 + full * f:s1].max()
            i0, n = j0, j1 - j0

    def envelope(self, start: int, stop: int, max_bins: int):
        """(bin_start_frames, lo, hi, bin_size) for frames [start, stop) with <= ~max_bins bins,
        or None when that range is not built yet."""
        if stop > self.filled_frames + self.base * 4 and stop <= self.frames:
            return None
        span = max(1, stop - start)
        li = 0
        while li + 1 < len(self.levels) and span / self.bin_sizes[li] > max_bins:
            li += 1
        size = self.bin_sizes[li]
        lo, hi = self.levels[li]
        a = max(0, start // size)
        b = min(lo.shape[0], stop // size + 1)
        idx = np.arange(a, b, dtype=np.float64) * size
        return idx, lo[a:b], hi[a:b], size


# --------------------------------------------------------------------------------------
# spectrogram tiles

def row_freqs_hz(settings: SpectroSettings, sample_rate_hz: int) -> np.ndarray:
    """Centre frequency of each image row (ascending), for the Hz axis of non-linear kinds."""
    f_max = float(min(settings.f_max_hz, sample_rate_hz / 2))
    f_min = float(min(settings.f_min_hz, f_max * 0.99))
    return np.asarray(_spec_for(settings, sample_rate_hz, settings.hop, f_min, f_max).freqs_hz, np.float64)


@dataclass
class Tile:
    level: int
    index: int
    t0_s: float
    t1_s: float
    image_db: np.ndarray       # (rows, columns) float32, row 0 = lowest frequency
    freqs_hz: np.ndarray       # centre frequency of each row


def column_stride(settings: SpectroSettings, level: int) -> int:
    return settings.hop * (1 << level)


def tile_span_frames(settings: SpectroSettings, level: int) -> int:
    return TILE_COLUMNS * column_stride(settings, level)


def level_for(settings: SpectroSettings, frames_per_pixel: float) -> int:
    """Coarsest level whose column stride is still <= one screen pixel (at least level 0)."""
    if frames_per_pixel <= settings.hop:
        return 0
    return max(0, int(math.floor(math.log2(frames_per_pixel / settings.hop))))


def _spec_for(settings: SpectroSettings, sr: int, stride: int, f_min: float, f_max: float):
    """The dsp layer's frame kernel for one tile level (column stride = its hop)."""
    k = settings.kind
    if k == "stft":
        return make_spec("stft", sample_rate_hz=sr, n_fft=settings.n_fft, hop=stride, center=True)
    if k == "mel":
        return make_spec("mel", sample_rate_hz=sr, n_mels=settings.n_bands, n_fft=settings.n_fft, hop=stride,
                         f_min_hz=f_min, f_max_hz=f_max, center=True)
    if k == "gammatone":
        # aligned with the waveform: centred frames, no causal filter delay
        return make_spec("gammatone", sample_rate_hz=sr, n_bands=settings.n_bands, f_min_hz=max(f_min, 20.0),
                         f_max_hz=f_max, window_s=settings.n_fft / sr, hop_s=stride / sr, center=True,
                         filter_delay=False)
    return make_spec("cwt", sample_rate_hz=sr, n_scales=settings.n_bands, f_min_hz=max(f_min, 20.0),
                     f_max_hz=f_max, hop_s=stride / sr)


def compute_tile(reader: BlockReader, settings: SpectroSettings, level: int, index: int) -> Tile:
    """One tile: columns ``index*TILE_COLUMNS ...`` at level ``level``, via clinaudio_gui.dsp kernels.

    STFT / mel / gammatone: frames gathered here (only each column's window when columns are
    far apart, so a zoomed-out hour never reads the whole file), powered by the dsp FrameSpec.
    CWT: the dsp range computation (contiguous audio plus the wavelet's context).
    """
    sr = reader.sample_rate_hz
    stride = column_stride(settings, level)
    first_col = index * TILE_COLUMNS
    c0 = first_col * stride                     # first column centre, frames
    n_cols = TILE_COLUMNS
    f_max = float(min(settings.f_max_hz, sr / 2))
    f_min = float(min(settings.f_min_hz, f_max * 0.99))
    spec = _spec_for(settings, sr, stride, f_min, f_max)
    if settings.kind == "cwt":
        p = spec.range_power(reader.read, reader.frames + stride * n_cols, first_col, first_col + n_cols)
    else:
        n = spec.frame_length
        half = n // 2
        if stride >= 2 * n:   # sparse: read only each column's window
            frames = np.stack([reader.read(c0 + j * stride - half, c0 + j * stride - half + n)
                               for j in range(n_cols)])
        else:
            y = reader.read(c0 - half, c0 + (n_cols - 1) * stride - half + n)
            frames = np.lib.stride_tricks.sliding_window_view(y, n)[::stride][:n_cols]
        p = spec.power(frames)
    freqs = np.asarray(spec.freqs_hz, np.float64)
    if p.shape[1] < n_cols:
        p = np.pad(p, ((0, 0), (0, n_cols - p.shape[1])))
    if settings.kind == "stft":
        keep = (freqs >= f_min) & (freqs <= f_max)
        p, freqs = p[keep], freqs[keep]
    img_db = power_to_db(p)
    t0 = (c0 - stride / 2) / sr
    t1 = t0 + n_cols * stride / sr
    return Tile(level, index, t0, t1, np.ascontiguousarray(img_db, np.float32), freqs)
