"""The display consumer of a live stream (no Qt): level meter, rolling waveform, rolling
spectrogram. The panel calls :meth:`LiveDisplay.update` on a timer; it reads only what is new
from its own ring reader and computes only whole new spectrogram frames.
"""
from __future__ import annotations

import time

import numpy as np

from clinaudio_gui.dsp import StreamingSpectrogram
from clinaudio_gui.live.resample import StreamingResampler
from clinaudio_gui.live.ring import RingBuffer, RingReader

CLIP_LEVEL = 0.999        # |sample| at or above this counts as clipping (full scale is 1.0)
CLIP_HOLD_S = 2.0         # the clip indicator stays on this long after the last clipped sample
FLOOR_DB = -100.0


class RollingSpectrogram:
    """A fixed-width dB image (freq, time) whose newest column is on the right, fed by the dsp
    layer's streaming form (the same numbers as its offline image, only whole new frames)."""

    def __init__(self, *, sample_rate_hz: int, kind: str = "stft", history_s: float = 10.0,
                 **settings):
        settings = dict(settings) or {"n_fft": 256, "hop": 64}
        self.stream = StreamingSpectrogram(kind, sample_rate_hz=sample_rate_hz, **settings)
        self.sample_rate_hz = int(sample_rate_hz)
        self.hop = int(self.stream.spec.hop)
        self.freqs_hz = self.stream.freqs_hz
        self.n_cols = max(1, int(round(history_s * sample_rate_hz / self.hop)))
        self._img = np.full((len(self.freqs_hz), self.n_cols), FLOOR_DB, dtype=np.float32)
        self._col = 0               # next column to write (ring)
        self.frames_done = 0

    @property
    def history_s(self) -> float:
        return self.n_cols * self.hop / self.sample_rate_hz

    def push(self, y: np.ndarray) -> int:
        """Add samples; returns how many columns (whole new frames) were added."""
        db, _ = self.stream.push(np.asarray(y, dtype=np.float32))
        n = db.shape[1]
        if n == 0:
            return 0
        db = np.maximum(db, FLOOR_DB)
        if n > self.n_cols:
            db = db[:, -self.n_cols:]
        k = db.shape[1]
        first = min(k, self.n_cols - self._col)
        self._img[:, self._col:self._col + first] = db[:, :first]
        if first < k:
            self._img[:, :k - first] = db[:, first:]
        self._col = (self._col + k) % self.n_cols
        self.frames_done += n
        return n

    def image(self) -> np.ndarray:
        """(freq, time), oldest column first."""
        return np.concatenate([self._img[:, self._col:], self._img[:, :self._col]], axis=1)


class LevelMeter:
    """Peak / RMS in dBFS of the newest audio, and a clip indicator held for a moment."""

    def __init__(self):
        self.peak_db = FLOOR_DB
        self.rms_db = FLOOR_DB
        self.clipped_samples = 0
        self._clip_until = 0.0

    def update(self, raw: np.ndarray, now: float | None = None) -> None:
        if len(raw) == 0:
            return
        now = time.monotonic() if now is None else now
        a = np.abs(raw)
        peak = float(a.max())
        self.peak_db = max(FLOOR_DB, 20.0 * np.log10(max(peak, 1e-10)))
        self.rms_db = max(FLOOR_DB, 10.0 * np.log10(max(float(np.mean(raw.astype(np.float64) ** 2)), 1e-10)))
        n_clip = int(np.count_nonzero(a >= CLIP_LEVEL))
        if n_clip:
            self.clipped_samples += n_clip
            self._clip_until = now + CLIP_HOLD_S

    def clipping(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) < self._clip_until


class LiveDisplay:
    """Reads a capture's ring for display: level (raw audio), waveform and spectrogram (at
    ``display_rate_hz``, the model's rate, where respiratory sounds live)."""

    def __init__(self, reader: RingReader, *, capture_rate_hz: int, display_rate_hz: int = 8000,
                 history_s: float = 10.0, kind: str = "stft", **spectrogram_settings):
        self.reader = reader
        self.display_rate_hz = int(display_rate_hz)
        self.resampler = StreamingResampler(orig_sr=capture_rate_hz, target_sr=self.display_rate_hz)
        self.wave = RingBuffer(int(history_s * self.display_rate_hz))
        self.spectrogram = RollingSpectrogram(sample_rate_hz=self.display_rate_hz, kind=kind,
                                              history_s=history_s, **spectrogram_settings)
        self.level = LevelMeter()
        self.history_s = float(history_s)

    def update(self) -> int:
        """Take in what is new; returns the number of new display samples."""
        _, raw = self.reader.read()
        if len(raw) == 0:
            return 0
        self.level.update(raw)
        y = self.resampler.process(raw)
        self.wave.write(y)
        self.spectrogram.push(y)
        return len(y)

    @property
    def overruns(self) -> int:
        return self.reader.overruns

    def waveform_envelope(self, n_points: int = 800) -> tuple[np.ndarray, np.ndarray]:
        """(times_s relative to now (<= 0), values) as min/max pairs per bucket, so a 10 s view
        draws ~2 * n_points vertices instead of 80 000 samples and no peak is lost."""
        n = min(self.wave.total, self.wave.capacity)
        y = RingReader(self.wave).latest(n) if n else np.zeros(0, np.float32)
        total_n = self.wave.capacity
        if len(y) < total_n:  # not yet full: left-pad with silence so the view does not jump
            y = np.concatenate([np.zeros(total_n - len(y), np.float32), y])
        per = max(1, total_n // n_points)
        m = (len(y) // per) * per
        blocks = y[len(y) - m:].reshape(-1, per)
        mins, maxs = blocks.min(axis=1), blocks.max(axis=1)
        vals = np.empty(2 * len(mins), np.float32)
        vals[0::2], vals[1::2] = mins, maxs
        t = (np.repeat(np.arange(len(mins)), 2) * per - m) / self.display_rate_hz
        return t.astype(np.float64), vals
