"""Continuous wavelet (Morlet) scalogram, computed in the frequency domain at the output hop.

Why this way: ``pywt.cwt`` convolves the whole signal once per scale at full rate (about 1 s
for 60 s at 4 kHz with 64 scales). Here the signal is transformed once (rfft); for each scale
only the bins under that wavelet's Gaussian band are kept (the band is narrow in absolute
terms at low frequencies), and the analytic band-passed signal is evaluated only at ``m``
points per output frame by *folding* the band into ``n_frames * m`` bins (exact decimation in
time) before a short inverse FFT. Each image value is the mean of ``|W|^2`` over those ``m``
points spread over the frame's hop, so short events between frame centres are not skipped;
``m`` grows with the wavelet's bandwidth (1 at 50 Hz, 24 at 4 kHz for a 10 ms hop).

Conventions
* Wavelet: analytic Morlet ``exp(i w0 t) exp(-t^2/2)`` with ``w0 = 5`` (``pywt``'s "morl" is its
  real part). Scale ``a`` (in samples) of frequency ``f``: ``a = w0 * sr / (2 pi f)``, the
  scale whose Fourier peak is at ``f``. ``pywt.scale2frequency("morl", a)`` reports
  ``0.8125 / a`` (the peak of a coarsely sampled FFT), 2 % off that peak, so to compare use
  ``scales = 5 * sr / (2 * pi * freqs_hz)``.
* Amplitude: each band has unit gain at its peak, so a sine of amplitude A at a band's
  frequency reads ``|W| = A`` there (``20 log10 A`` dB), at every scale (pywt's coefficients
  instead grow with ``sqrt(scale)``).
* Frames: frame ``i`` is centred at ``times_s[i] = i * hop / sr`` (``i = 0 .. n // hop``) and
  averages the hop-long box ``[i*hop - hop//2, i*hop - hop//2 + hop)``; the signal is zero
  outside ``[0, n)``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.fft

from ._common import (AMIN, freq_range, positive_float, positive_int, power_to_db,
                      read_zero_padded, single_thread_blas, valid_audio)
from .spectral import samples_from_seconds

_K_FREQ = 5.0   # Gaussian band kept to +-5 sigma (amplitude e^-12.5 = 4e-6 at the edge)
_K_TIME = 6.0   # context on each side of a range, in wavelet time-sigmas (e^-18)
_TAPER = 0.03   # fraction of the band below Nyquist over which responses are tapered to 0
_MAX_CHUNK = 4096  # output frames per FFT segment at most (bounds memory on long inputs)
_QUALITY = 3.0  # points per frame >= _QUALITY * band sigma (Hz) * hop (s) (pywt corr 0.996)


def _fast_points(n: int) -> int:
    """Smallest 2^a or 3 * 2^a >= n."""
    p = 1
    while p < n:
        p *= 2
    q = 3 * p // 4 if p >= 4 else p
    return q if q >= n else p


def _smooth(n: int, primes=(2, 3, 5)) -> int:
    """Smallest integer >= n with no prime factors but ``primes`` (a fast FFT length)."""
    while True:
        m = n
        for p in primes:
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


@dataclass(eq=False)
class CwtSpec:
    """Settings of one scalogram: centre frequencies, scales, hop, points per frame, context."""

    sample_rate_hz: float
    hop: int
    w0: float
    freqs_hz: np.ndarray      # (n_scales,) ascending
    scales: np.ndarray        # (n_scales,) samples, descending
    points: np.ndarray        # (n_scales,) evaluation points per frame
    context: int              # frames of context needed on each side of a range

    @property
    def n_out(self) -> int:
        return len(self.freqs_hz)

    def n_frames(self, n_samples: int) -> int:
        return 1 + n_samples // self.hop

    time_offset = 0.0  # frame i is centred at sample i * hop

    def times_s(self, first: int, count: int) -> np.ndarray:
        return np.arange(first, first + count) * self.hop / self.sample_rate_hz

    def segment_frames(self, count: int) -> int:
        """Frames in one FFT segment holding ``count`` output frames plus context: rounded up
        to a multiple of 64 and then to a fast FFT length, so inputs of similar length (and
        every streaming block) share one cached filter bank."""
        need = -(-(count + 2 * self.context) // 64) * 64
        return _smooth(need)

    def power_segment(self, x: np.ndarray, n_seg: int) -> np.ndarray:
        """|W|^2 frame means for a segment ``x`` of ``n_seg * hop`` samples starting at a frame
        box edge; returns (n_scales, n_seg) float32 (frames near the ends lack context)."""
        N = n_seg * self.hop
        X = scipy.fft.rfft(x)
        groups = _bank(self.sample_rate_hz, N, self.w0, self.scales.tobytes(), n_seg,
                       self.points.tobytes())
        out = np.empty((self.n_out, n_seg), dtype=np.float32)
        with single_thread_blas():
            self._fill(out, X, groups, n_seg)
        return out

    @staticmethod
    def _fill(out, X, groups, n_seg) -> None:
        for rows, M, m, bands in groups:  # scales sharing one evaluation rate: one batched ifft
            folded = np.zeros((len(rows), M), dtype=np.complex64)
            for r, (lo, gains) in enumerate(bands):
                z = X[lo:lo + len(gains)] * gains
                # fold the band modulo M (= sampling the band-passed signal at M points)
                row = folded[r]
                pos, i = lo % M, 0
                while i < len(z):
                    take = min(M - pos, len(z) - i)
                    row[pos:pos + take] += z[i:i + take]
                    i += take
                    pos = 0
            w = scipy.fft.ifft(folded, axis=1, overwrite_x=True)
            p = w.real * w.real
            p += w.imag * w.imag
            if m > 1:  # frame means as a matrix-vector product: ~20x faster than .mean(axis=2)
                p = p.reshape(-1, m) @ np.full(m, 1.0 / m, dtype=np.float32)
            out[rows] = p.reshape(len(rows), n_seg)

    def range_power(self, read, n_samples: int, first: int, stop: int) -> np.ndarray:
        """Power of frames [first, stop) of a signal read piecewise (``read(a, b)`` -> samples
        a..b-1), with ``context`` frames of real signal around it, so ranges join seamlessly."""
        n_frames = self.n_frames(n_samples)
        first, stop = max(0, first), min(stop, n_frames)
        if stop <= first:
            return np.zeros((self.n_out, 0), dtype=np.float32)
        out = np.empty((self.n_out, stop - first), dtype=np.float32)
        i = first
        while i < stop:
            left = stop - i
            size = min(left, _MAX_CHUNK)
            n_seg = self.segment_frames(size)
            s0 = (i - self.context) * self.hop - self.hop // 2
            x = read_zero_padded(read, n_samples, s0, s0 + n_seg * self.hop)
            take = min(size, left)
            out[:, i - first:i - first + take] = \
                self.power_segment(x, n_seg)[:, self.context:self.context + take]
            i += take
        return out

    def image_power(self, y: np.ndarray) -> np.ndarray:
        n = len(y)
        return self.range_power(lambda a, b: y[a:b], n, 0, self.n_frames(n))


@functools.lru_cache(maxsize=12)
def _bank(sr: float, N: int, w0: float, scales_key: bytes, n_seg: int, points_key: bytes):
    """Scales grouped by points per frame: (row indices, folded length M, points per frame,
    per scale (first bin, complex gains over its band)). The gains hold the Gaussian band
    (x2 for the analytic signal), the M/N inverse-FFT scale and a half-point time shift."""
    scales = np.frombuffer(scales_key, dtype=np.float64)
    points = np.frombuffer(points_key, dtype=np.int64)
    n_bins = N // 2 + 1
    groups = []
    for m in np.unique(points):
        rows = np.flatnonzero(points == m)
        M = n_seg * int(m)
        bands = []
        for a in scales[rows]:
            # G(w) = exp(-(a w - w0)^2 / 2), w = 2 pi k / N rad/sample; band a w in w0 +- K
            k_lo = max(0, int(np.floor((w0 - _K_FREQ) / a * N / (2 * np.pi))))
            k_hi = min(n_bins, int(np.ceil((w0 + _K_FREQ) / a * N / (2 * np.pi))) + 1)
            k = np.arange(k_lo, k_hi)
            g = 2.0 * np.exp(-0.5 * (a * 2 * np.pi * k / N - w0) ** 2) * (M / N)
            # bands reaching Nyquist are cut there: a short raised-cosine taper over the top
            # _TAPER of the spectrum keeps their time response compact (so ranges and streams
            # equal the whole image) instead of ringing like a sinc
            u = (k / (N / 2.0) - (1.0 - _TAPER)) / _TAPER
            g *= np.where(u > 0, 0.5 + 0.5 * np.cos(np.pi * np.clip(u, 0.0, 1.0)), 1.0)
            # evaluate at the centres of m equal sub-intervals of each hop: shift by hop/(2m)
            delta = (N / n_seg) / (2.0 * m)
            g = (g * np.exp(2j * np.pi * k * delta / N)).astype(np.complex64)
            g.flags.writeable = False
            bands.append((k_lo, g))
        groups.append((rows, M, int(m), tuple(bands)))
    return tuple(groups)


def cwt_spec(*, sample_rate_hz, n_scales=64, f_min_hz=50.0, f_max_hz=None, hop_s=0.010,
             wavelet="morlet", w0=5.0) -> CwtSpec:
    sr = positive_float("sample_rate_hz", sample_rate_hz)
    n_scales = positive_int("n_scales", n_scales)
    f_min, f_max = freq_range(f_min_hz, f_max_hz, sr, allow_zero=False)
    if wavelet not in ("morlet", "morl", "cmor"):
        raise ValueError(f"wavelet={wavelet!r} is not supported; use 'morlet'")
    w0 = positive_float("w0", w0)
    if w0 < 3:
        raise ValueError(f"w0={w0!r} must be at least 3 (below that the Morlet is not admissible)")
    hop = samples_from_seconds("hop_s", hop_s, sr)
    freqs = f_min * (f_max / f_min) ** (np.arange(n_scales) / max(1, n_scales - 1)) \
        if n_scales > 1 else np.array([f_min])
    scales = w0 * sr / (2 * np.pi * freqs)
    sigma_hz = freqs / w0
    pts = np.ceil(_QUALITY * sigma_hz * hop / sr).astype(np.int64)
    # 2^a or 3 * 2^a points per frame: pocketfft's single-precision lengths with factors 5 or 9 ran
    # ~1.5x slower per point here, more than the extra points cost
    pts = np.array([min(hop, _fast_points(int(p))) for p in np.clip(pts, 1, hop)],
                   dtype=np.int64)
    context = int(np.ceil((_K_TIME * scales.max() + hop) / hop))
    return CwtSpec(sr, hop, w0, freqs, scales, pts, context)


def cwt_scalogram_db(y, *, sample_rate_hz, n_scales=64, f_min_hz=50.0, f_max_hz=None,
                     wavelet="morlet", hop_s=0.010, w0=5.0, ref=1.0, amin=AMIN, top_db=None):
    """Morlet CWT scalogram in dB, (n_scales, frames): log-spaced centre frequencies from
    f_min_hz to f_max_hz (default Nyquist), ascending; each value is the mean ``|W|^2`` over
    the frame's hop (see the module notes for scales, amplitude and frame conventions).

    Returns ``(image_db float32 (n_scales, time), times_s, freqs_hz)``.
    """
    y = valid_audio(y)
    spec = cwt_spec(sample_rate_hz=sample_rate_hz, n_scales=n_scales, f_min_hz=f_min_hz,
                    f_max_hz=f_max_hz, hop_s=hop_s, wavelet=wavelet, w0=w0)
    p = spec.image_power(y)
    return (power_to_db(p, ref=ref, amin=amin, top_db=top_db),
            spec.times_s(0, p.shape[1]), spec.freqs_hz.copy())
