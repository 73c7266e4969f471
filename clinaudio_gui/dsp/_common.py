"""Argument checks and small helpers shared by every spectral front-end.

All checks raise ``ValueError`` whose message repeats the bad value, so a CLI or GUI can show
it verbatim ("hop=0 must be a positive integer").
"""
from __future__ import annotations

import contextlib
import numbers
import threading

import numpy as np

AMIN = 1e-10  # librosa's power_to_db floor: -100 dB


def valid_audio(y, *, name: str = "y") -> np.ndarray:
    """The one input check: 1-D, non-empty, finite, real -> contiguous float32 array.

    Why one function: every front-end (offline, streaming, tiles) must reject the same inputs
    with the same message.
    """
    if isinstance(y, (str, bytes)) or y is None:
        raise ValueError(f"{name}={y!r:.60} must be a 1-D array of audio samples")
    try:
        a = np.asarray(y)
    except Exception as exc:  # ragged lists etc.
        raise ValueError(f"{name} could not be read as an array of samples: {exc}") from None
    if a.dtype.kind not in "fiub":
        raise ValueError(f"{name} has dtype {a.dtype}; audio samples must be real numbers")
    if a.ndim != 1:
        raise ValueError(f"{name} has shape {a.shape}; expected mono 1-D samples (mix down or pick a channel)")
    if a.size == 0:
        raise ValueError(f"{name} is empty (0 samples)")
    a = np.ascontiguousarray(a, dtype=np.float32)
    if not np.isfinite(a).all():
        bad = int(np.flatnonzero(~np.isfinite(a))[0])
        raise ValueError(f"{name}[{bad}]={a[bad]} is not finite; audio must not contain NaN or inf")
    return a


def positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a positive integer")
    return int(value)


def positive_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or value <= 0:
        raise ValueError(f"{name}={value!r} must be a positive number")
    return float(value)


def nonneg_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or value < 0:
        raise ValueError(f"{name}={value!r} must be a non-negative number")
    return float(value)


def freq_range(f_min_hz, f_max_hz, sample_rate_hz: float, *, allow_zero: bool = True) -> tuple[float, float]:
    """Check 0 <= f_min < f_max <= Nyquist; f_max None means Nyquist."""
    nyq = sample_rate_hz / 2.0
    f_min = nonneg_float("f_min_hz", f_min_hz) if allow_zero else positive_float("f_min_hz", f_min_hz)
    f_max = nyq if f_max_hz is None else positive_float("f_max_hz", f_max_hz)
    if f_max > nyq * (1 + 1e-9):
        raise ValueError(f"f_max_hz={f_max_hz!r} is above the Nyquist frequency {nyq:g} Hz "
                         f"(sample_rate_hz={sample_rate_hz:g})")
    if f_min >= f_max:
        raise ValueError(f"f_min_hz={f_min_hz!r} must be below f_max_hz={f_max:g}")
    return f_min, f_max


def power_to_db(power: np.ndarray, *, ref: float = 1.0, amin: float = AMIN,
                top_db: float | None = None) -> np.ndarray:
    """10*log10(max(power, amin)) - 10*log10(max(ref, amin)), optionally clipped to top_db
    below the maximum; the same definition as librosa.power_to_db (so figures compare)."""
    amin = positive_float("amin", amin)
    ref = positive_float("ref", ref)
    db = np.log10(np.maximum(power, np.float32(amin)))
    db *= np.float32(10.0)
    if ref != 1.0:
        db -= np.float32(10.0 * np.log10(max(amin, ref)))
    if top_db is not None:
        top_db = nonneg_float("top_db", top_db)
        if db.size:
            np.maximum(db, db.max() - np.float32(top_db), out=db)
    return db.astype(np.float32, copy=False)


def get_window(window, length: int) -> np.ndarray:
    """A periodic (FFT) window as float64, from a name or an array of the right length."""
    if isinstance(window, str):
        name = window.lower()
        n = np.arange(length)
        if name in ("hann", "hanning"):
            return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)
        if name == "hamming":
            return 0.54 - 0.46 * np.cos(2.0 * np.pi * n / length)
        if name in ("boxcar", "rect", "rectangular", "ones"):
            return np.ones(length)
        if name == "blackman":
            return (0.42 - 0.5 * np.cos(2.0 * np.pi * n / length)
                    + 0.08 * np.cos(4.0 * np.pi * n / length))
        raise ValueError(f"window={window!r} is not one of 'hann', 'hamming', 'blackman', 'boxcar' "
                         f"(or pass an array)")
    w = np.asarray(window, dtype=np.float64)
    if w.ndim != 1 or w.size != length:
        raise ValueError(f"window array has shape {w.shape}; expected ({length},)")
    return w


_BLAS_LOCK = threading.Lock()
_BLAS_STATE = {"controller": None, "depth": 0, "limiter": None}


@contextlib.contextmanager
def single_thread_blas():
    """Pin BLAS to one thread around a small matrix product.

    Why: on a busy 2-core machine OpenBLAS's worker threads spin and wait for each other, and a
    (1000 x 257) @ (257 x 64) product went from 0.7 ms to 12 ms. Our products are small, so one
    thread is always the faster choice. Re-entrant and thread-safe (the first caller in sets
    the limit, the last one out restores it); a no-op without threadpoolctl.
    """
    st = _BLAS_STATE
    with _BLAS_LOCK:
        if st["controller"] is None:
            try:
                from threadpoolctl import ThreadpoolController
                st["controller"] = ThreadpoolController()
            except Exception:  # pragma: no cover - threadpoolctl missing
                st["controller"] = False
        if st["controller"] is not False:
            if st["depth"] == 0:
                st["limiter"] = st["controller"].limit(limits=1, user_api="blas")
            st["depth"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            if st["controller"] is not False:
                st["depth"] -= 1
                if st["depth"] == 0 and st["limiter"] is not None:
                    st["limiter"].restore_original_limits()
                    st["limiter"] = None


def read_zero_padded(read, n_samples: int, start: int, stop: int) -> np.ndarray:
    """Samples [start, stop) of a signal of n_samples, zeros outside it (float32).

    ``read(a, b)`` returns samples a..b-1 (0 <= a < b <= n_samples). Zeros outside the signal
    are what centre padding and the CWT's zero boundary assume, so tiles equal whole images.
    """
    out = np.zeros(max(0, stop - start), dtype=np.float32)
    a, b = max(start, 0), min(stop, n_samples)
    if b > a:
        block = np.asarray(read(a, b), dtype=np.float32)
        if block.shape != (b - a,):
            raise ValueError(f"reader returned shape {block.shape} for samples [{a}, {b}); "
                             f"expected ({b - a},)")
        out[a - start:b - start] = block
    return out
