"""Long recordings: a min/max waveform pyramid and spectrogram tiles of a time range.

Why: a one-hour 44.1 kHz file is 159 M samples (635 MB as float32). The viewer must draw any
zoom of it without loading or transforming all of it:

* :class:`WaveformPyramid` reads the file once, block by block (never all of it), and keeps
  min/max per bin at a few resolutions (bins of 64, 256, 1024, ... samples: about 26 MB for
  that hour). ``envelope(start_s, end_s, n_px)`` answers from the coarsest level whose bins are
  no wider than a pixel, widening each pixel to whole bins so no peak is ever lost; below one
  level-0 bin per pixel it reads the few raw samples needed.
* :func:`spectrogram_tile` computes only the frames of one time range, reading just that range
  plus the context the frames need at its edges (half a window, the gammatone delay, the CWT
  wavelet support); tiles therefore equal the whole image where they overlap.

Sources: a :class:`~clinaudio_gui.core.Recording` (anything with ``sample_rate_hz``,
``frames`` and ``read(start_s, end_s)``), or a 1-D array with ``sample_rate_hz=``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ._common import AMIN, positive_int, power_to_db, valid_audio
from .streaming import make_spec


def as_reader(source, sample_rate_hz=None) -> tuple[Callable[[int, int], np.ndarray], int, float]:
    """(read(a, b) -> float32 samples a..b-1, n_samples, sample_rate_hz) for a Recording-like
    object or a 1-D array (then ``sample_rate_hz`` is required)."""
    if hasattr(source, "read") and hasattr(source, "frames") and hasattr(source, "sample_rate_hz"):
        sr = float(source.sample_rate_hz)
        n = int(source.frames)

        def read(a: int, b: int) -> np.ndarray:
            block = np.asarray(source.read(a / sr, b / sr), dtype=np.float32)
            if len(block) != b - a:  # seconds -> frames rounding: be exact
                block = np.asarray(source.read(a / sr, (b + 0.5) / sr), dtype=np.float32)[:b - a]
            return block
        return read, n, sr
    if sample_rate_hz is None:
        raise ValueError("sample_rate_hz is required when the source is an array of samples")
    y = valid_audio(source)
    from ._common import positive_float
    return (lambda a, b: y[a:b]), len(y), positive_float("sample_rate_hz", sample_rate_hz)


def _check_range(start_s, end_s) -> tuple[float, float]:
    try:
        start_s, end_s = float(start_s), float(end_s)
    except (TypeError, ValueError):
        raise ValueError(f"start_s={start_s!r}, end_s={end_s!r} must be numbers") from None
    if not (np.isfinite(start_s) and np.isfinite(end_s)) or end_s <= start_s:
        raise ValueError(f"end_s={end_s!r} must be a finite time after start_s={start_s!r}")
    return start_s, end_s


def tile_frames(spec, n_samples: int, start_s: float, end_s: float) -> tuple[int, int]:
    """Frame index range [first, stop) whose time stamps lie in [start_s, end_s]."""
    sr, hop, off = spec.sample_rate_hz, spec.hop, spec.time_offset
    first = int(np.ceil((start_s * sr - off) / hop - 1e-9))
    stop = int(np.floor((end_s * sr - off) / hop + 1e-9)) + 1
    n = spec.n_frames(n_samples)
    return max(0, first), max(0, min(stop, n))


def spectrogram_tile(source, kind: str, start_s, end_s, *, sample_rate_hz=None, ref=1.0,
                     amin=AMIN, **settings):
    """Image of the frames whose times lie in [start_s, end_s], computed from that range only.

    ``kind``: 'stft', 'mel', 'gammatone' or 'cwt'; ``settings`` as for the matching ``*_db``
    function (no ``top_db``: it would differ from tile to tile). Returns ``(image_db (freq,
    frames), times_s, freqs_hz)``; values equal the whole image's columns at the same times.
    """
    start_s, end_s = _check_range(start_s, end_s)
    read, n, sr = as_reader(source, sample_rate_hz)
    spec = make_spec(kind, sample_rate_hz=sr, **settings)
    first, stop = tile_frames(spec, n, start_s, end_s)
    p = spec.range_power(read, n, first, stop)
    return (power_to_db(p, ref=ref, amin=amin), spec.times_s(first, p.shape[1]),
            spec.freqs_hz.copy())


class WaveformPyramid:
    """Multi-resolution min/max of a waveform, built block-wise (see the module notes)."""

    def __init__(self, source, *, sample_rate_hz=None, base_bin=64, factor=4,
                 block_samples=1 << 20, progress: Callable[[float], None] | None = None):
        self.base_bin = positive_int("base_bin", base_bin)
        self.factor = positive_int("factor", factor)
        if self.factor < 2:
            raise ValueError(f"factor={factor!r} must be at least 2")
        block = positive_int("block_samples", block_samples)
        block = max(self.base_bin, block // self.base_bin * self.base_bin)
        self._read, self.n_samples, self.sample_rate_hz = as_reader(source, sample_rate_hz)
        n, b = self.n_samples, self.base_bin
        n_bins = -(-n // b)
        mins = np.empty(n_bins, dtype=np.float32)
        maxs = np.empty(n_bins, dtype=np.float32)
        for a in range(0, n, block):
            e = min(n, a + block)
            y = np.asarray(self._read(a, e), dtype=np.float32)
            full = (e - a) // b
            i = a // b
            if full:
                v = y[:full * b].reshape(full, b)
                mins[i:i + full] = v.min(axis=1)
                maxs[i:i + full] = v.max(axis=1)
            if full * b < e - a:  # the last, partial bin
                mins[i + full] = y[full * b:].min()
                maxs[i + full] = y[full * b:].max()
            if progress is not None:
                progress(e / n)
        self.levels: list[tuple[np.ndarray, np.ndarray]] = [(mins, maxs)]
        while len(self.levels[-1][0]) > 1:
            lo, hi = self.levels[-1]
            m = -(-len(lo) // self.factor)
            pad = m * self.factor - len(lo)
            if pad:
                lo = np.concatenate([lo, np.full(pad, lo[-1])])
                hi = np.concatenate([hi, np.full(pad, hi[-1])])
            self.levels.append((lo.reshape(m, self.factor).min(axis=1),
                                hi.reshape(m, self.factor).max(axis=1)))

    @property
    def bin_samples(self) -> list[int]:
        """Samples per bin at each level."""
        return [self.base_bin * self.factor ** k for k in range(len(self.levels))]

    @property
    def nbytes(self) -> int:
        return sum(lo.nbytes + hi.nbytes for lo, hi in self.levels)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate_hz

    def level_for(self, samples_per_px: float) -> int:
        """Coarsest level whose bins are no wider than a pixel; -1 means raw samples."""
        best = -1
        for k, size in enumerate(self.bin_samples):
            if size <= samples_per_px:
                best = k
        return best

    def pixel_edges(self, start_s, end_s, n_px) -> np.ndarray:
        """Sample edges (n_px' + 1,) of the pixels of a view (fewer pixels than asked when
        the range holds fewer samples)."""
        start_s, end_s = _check_range(start_s, end_s)
        n_px = positive_int("n_px", n_px)
        sr = self.sample_rate_hz
        a = min(self.n_samples, max(0, int(round(start_s * sr))))
        b = min(self.n_samples, max(0, int(round(end_s * sr))))
        if b <= a:
            return np.array([a], dtype=np.int64)
        n_px = min(n_px, b - a)
        return a + np.floor(np.arange(n_px + 1) * ((b - a) / n_px)).astype(np.int64)

    def envelope(self, start_s, end_s, n_px) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(t_s, mins, maxs) for n_px pixels covering [start_s, end_s] (clipped to the
        recording; fewer pixels when there are fewer samples). ``t_s`` = pixel centres."""
        edges = self.pixel_edges(start_s, end_s, n_px)
        if len(edges) < 2:
            z = np.zeros(0, dtype=np.float32)
            return np.zeros(0), z, z.copy()
        t = (edges[:-1] + edges[1:]) / 2.0 / self.sample_rate_hz
        spp = (edges[-1] - edges[0]) / (len(edges) - 1)
        k = self.level_for(spp)
        if k < 0:  # zoomed in past level 0: read the few raw samples
            y = np.asarray(self._read(int(edges[0]), int(edges[-1])), dtype=np.float32)
            idx = edges[:-1] - edges[0]
            return t, np.minimum.reduceat(y, idx), np.maximum.reduceat(y, idx)
        size = self.bin_samples[k]
        lo_arr, hi_arr = self.levels[k]
        lo = edges[:-1] // size
        hi = np.minimum(-(-edges[1:] // size), len(lo_arr))  # widened to whole bins
        mins = np.minimum.reduceat(lo_arr[:hi[-1]], lo)
        maxs = np.maximum.reduceat(hi_arr[:hi[-1]], lo)
        np.minimum(mins, lo_arr[hi - 1], out=mins)  # the bin shared with the next pixel
        np.maximum(maxs, hi_arr[hi - 1], out=maxs)
        return t, mins, maxs
