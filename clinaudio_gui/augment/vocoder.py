"""A vectorised phase vocoder (numpy only) for time stretch and pitch shift.

Why not librosa's: librosa loops over output frames in Python-level numba code with a
2048-point FFT by default (256 ms at 8 kHz: crackles smear). Here the window follows the
sample rate (about 64 ms), every step is one numpy array operation over all frames, and
the overlap-add is four slice additions (hop = n_fft / 4), so a 10 s clip at 8 kHz takes a
few milliseconds. Pitch shift = stretch by 1/ratio then resample (soxr, or scipy polyphase).
"""
from __future__ import annotations

import numpy as np
import scipy.fft as _fft

OVERLAP = 4  # hop = n_fft / OVERLAP (the overlap-add below relies on it being an integer)


def fft_size_for(sample_rate_hz: int) -> int:
    """A power of two near 64 ms (512 at 8 kHz, 4096 at 44.1 kHz), at least 64."""
    return int(max(64, 2 ** round(np.log2(0.064 * sample_rate_hz))))


def _window(n_fft: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)  # periodic hann


def _stft(y: np.ndarray, n_fft: int, hop: int, win: np.ndarray) -> np.ndarray:
    pad = n_fft // 2
    yp = np.pad(y, (pad, pad + hop), mode="constant")
    n_frames = 1 + (len(yp) - n_fft) // hop
    frames = np.lib.stride_tricks.as_strided(yp, shape=(n_frames, n_fft),
                                             strides=(yp.strides[0] * hop, yp.strides[0]))
    return _fft.rfft(frames * win, axis=1)  # (frames, bins)


def _istft(spec: np.ndarray, n_fft: int, hop: int, win: np.ndarray, length: int) -> np.ndarray:
    frames = _fft.irfft(spec, n=n_fft, axis=1).astype(np.float32, copy=False)
    frames *= win
    n = frames.shape[0]
    out = np.zeros((n + OVERLAP - 1, hop), dtype=np.float32)
    for i in range(OVERLAP):
        out[i:i + n] += frames[:, i * hop:(i + 1) * hop]
    # the summed squared window is constant except within OVERLAP-1 hops of either end
    w2 = (win * win).reshape(OVERLAP, hop)
    head = np.zeros((OVERLAP - 1, hop), dtype=np.float32)
    for i in range(OVERLAP - 1):
        head[i] = w2[: i + 1].sum(axis=0)
    interior = float(w2.sum(axis=0).mean())
    out[: min(OVERLAP - 1, len(out))] /= np.maximum(head, 1e-3)[: min(OVERLAP - 1, len(out))]
    if n > OVERLAP - 1:
        out[OVERLAP - 1:n] /= interior
    tail = np.zeros((OVERLAP - 1, hop), dtype=np.float32)
    for i in range(OVERLAP - 1):
        tail[i] = w2[i + 1:].sum(axis=0)
    if n >= OVERLAP - 1:
        out[n:] /= np.maximum(tail, 1e-3)
    out = out.reshape(-1)
    pad = n_fft // 2
    out = out[pad:pad + length]
    if len(out) < length:
        out = np.pad(out, (0, length - len(out)))
    return out


def time_stretch(y: np.ndarray, *, rate: float, sample_rate_hz: int) -> np.ndarray:
    """Play ``rate`` times faster (rate 1.2: shorter; 0.7: longer), pitch unchanged.
    Output length round(len(y) / rate)."""
    if not rate > 0 or not np.isfinite(rate):
        raise ValueError(f"rate={rate!r} must be a positive finite number")
    y = np.asarray(y, dtype=np.float32)
    out_len = int(round(len(y) / rate))
    if rate == 1.0:
        return y.copy()
    n_fft = fft_size_for(sample_rate_hz)
    hop = n_fft // OVERLAP
    win = _window(n_fft)
    S = _stft(y, n_fft, hop, win)                      # (frames, bins)
    n_frames, n_bins = S.shape
    # fractional input frame positions; np.arange with a float step can end exactly on
    # n_frames - 1 through rounding (e.g. 84 / 0.7), which has no frame k + 1 to blend with
    steps = np.arange(0, n_frames - 1, rate)
    steps = steps[steps < n_frames - 1]
    k = steps.astype(np.int64)
    alpha = (steps - k).astype(np.float32)[:, None]
    mag = np.abs(S)
    phase = np.angle(S)
    # phase advance between consecutive input frames, deviation from the bin's own advance
    # wrapped to [-pi, pi); the bin advance itself is taken mod 2 pi to keep float32 exact
    two_pi = np.float32(2 * np.pi)
    expected = np.mod((2 * np.pi * hop / n_fft) * np.arange(n_bins), 2 * np.pi).astype(np.float32)
    dphi = np.diff(phase, axis=0)
    dphi -= expected
    dphi += np.float32(np.pi)
    np.mod(dphi, two_pi, out=dphi)
    dphi += expected - np.float32(np.pi)
    out_mag = mag[k]
    out_mag *= 1.0 - alpha
    out_mag += alpha * mag[k + 1]
    acc = np.empty((len(k), n_bins), dtype=np.float32)
    acc[0] = phase[0]
    np.cumsum(dphi[k[:-1]], axis=0, out=acc[1:])
    acc[1:] += phase[0]
    out_spec = np.empty(acc.shape, dtype=np.complex64)
    out_spec.real = np.cos(acc)
    out_spec.imag = np.sin(acc)
    out_spec *= out_mag
    return _istft(out_spec, n_fft, hop, win, out_len)


def resample_ratio(y: np.ndarray, *, ratio: float) -> np.ndarray:
    """Resample by output/input length ``ratio`` (any real ratio), anti-aliased."""
    try:
        import soxr
        return soxr.resample(y, 1.0, ratio, quality="HQ").astype(np.float32, copy=False)
    except ImportError:  # pragma: no cover - soxr ships with librosa
        from fractions import Fraction

        from scipy.signal import resample_poly
        f = Fraction(ratio).limit_denominator(200)
        return resample_poly(y, f.numerator, f.denominator).astype(np.float32)


def pitch_shift(y: np.ndarray, *, semitones: float, sample_rate_hz: int) -> np.ndarray:
    """Shift every frequency by 2**(semitones/12); same length and timing."""
    y = np.asarray(y, dtype=np.float32)
    if semitones == 0:
        return y.copy()
    ratio = 2.0 ** (semitones / 12.0)
    stretched = time_stretch(y, rate=1.0 / ratio, sample_rate_hz=sample_rate_hz)
    shifted = resample_ratio(stretched, ratio=len(y) / len(stretched))
    if len(shifted) >= len(y):
        return np.ascontiguousarray(shifted[:len(y)])
    return np.pad(shifted, (0, len(y) - len(shifted)))
