"""Streaming polyphase resampling with state, so a stream cut into any blocks resamples
exactly like the whole signal would (no clicks or gaps at block edges).

The filter and the alignment are those of :func:`scipy.signal.resample_poly` (Kaiser
window, beta 5, half length 10 * max(up, down)), so the streamed output equals
``resample_poly(whole_signal, up, down)`` sample for sample, apart from the last few
samples that would need input from the future.
"""
from __future__ import annotations

from math import gcd

import numpy as np


class StreamingResampler:
    """Feed blocks at ``orig_sr``; get blocks at ``target_sr``. Keeps the input history it needs."""

    def __init__(self, *, orig_sr: int, target_sr: int):
        if int(orig_sr) <= 0 or int(target_sr) <= 0:
            raise ValueError(f"sample rates must be positive (orig_sr={orig_sr}, target_sr={target_sr})")
        self.orig_sr = int(orig_sr)
        self.target_sr = int(target_sr)
        g = gcd(self.orig_sr, self.target_sr)
        self.up = self.target_sr // g
        self.down = self.orig_sr // g
        self.passthrough = self.up == self.down == 1
        if self.passthrough:
            return
        from scipy.signal import firwin
        max_rate = max(self.up, self.down)
        half_len = 10 * max_rate
        h = firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0)) * self.up
        # scipy.resample_poly's alignment: pre-pad h with zeros so that the delay
        # (half_len + pre_pad) is a whole number of output samples, then drop those outputs.
        n_pre_pad = self.down - half_len % self.down
        h = np.concatenate([np.zeros(n_pre_pad), h])
        self._drop_out = (half_len + n_pre_pad) // self.down
        self._h = h
        self._taps = -(-len(h) // self.up)  # input samples one output touches
        # Input history, starting at a multiple of ``down`` so that the filter's output grid
        # over it lines up with the stream's (zeros stand for the samples before the start).
        self._hist_start = -self._round_down(self._taps - 1)
        self._hist = np.zeros(-self._hist_start, dtype=np.float64)
        self._n_in = 0   # input samples consumed so far
        self._n_out = 0  # output samples produced (before dropping the alignment delay)

    def _round_down(self, n: int) -> int:
        """The smallest multiple of ``down`` that is >= n (history length at the start)."""
        return -(-n // self.down) * self.down

    @property
    def delay_in_samples(self) -> float:
        """How many input samples the output trails the input by (filter support ahead)."""
        if self.passthrough:
            return 0.0
        return (self._taps - 1) / 2.0

    def process(self, block: np.ndarray) -> np.ndarray:
        """Resample the next block (1-D). Returns float32; length varies with the block."""
        x = np.asarray(block, dtype=np.float64).ravel()
        if self.passthrough:
            return x.astype(np.float32)
        from scipy.signal import upfirdn
        n_in_new = self._n_in + len(x)
        buf = np.concatenate([self._hist, x])  # input samples [hist_start, n_in_new)
        # output n needs input up to j = n * down // up; it is ready when j < n_in_new
        n_hi = (n_in_new * self.up - 1) // self.down + 1 if n_in_new else 0
        out = np.empty(0, dtype=np.float64)
        if n_hi > self._n_out:
            y = upfirdn(self._h, buf, self.up, self.down)  # y[k] is output (hist_start*up/down + k)
            k0 = self._n_out - self._hist_start * self.up // self.down
            out = y[k0:k0 + n_hi - self._n_out]
        start_out = self._n_out
        self._n_out = n_hi
        self._n_in = n_in_new
        # keep what the next outputs reach back to (taps - 1 samples), from a multiple of down
        keep_from = n_in_new - (self._taps - 1)
        keep_from -= keep_from % self.down
        keep_from = min(keep_from, n_in_new)
        drop = keep_from - self._hist_start
        if drop > 0:
            self._hist = buf[drop:]
            self._hist_start = keep_from
        else:
            self._hist = buf
        # drop the alignment delay at the very start
        skip = max(0, self._drop_out - start_out)
        return out[skip:].astype(np.float32)

    def reset(self) -> None:
        if self.passthrough:
            return
        self._hist_start = -self._round_down(self._taps - 1)
        self._hist = np.zeros(-self._hist_start, dtype=np.float64)
        self._n_in = 0
        self._n_out = 0
