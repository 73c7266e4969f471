"""Streaming spectral images: push blocks of any size, get back only the new whole frames.

Why: the live panel shows (and classifies) a scrolling image of microphone input; recomputing
the whole image per block would be wasteful and would change old columns. Concatenating every
``push`` and the final ``flush`` gives the offline image of the concatenated input (same
settings) within float32 tolerance, frame count included:

* STFT / mel / gammatone: frames are cut from a running buffer with the same kernel as the
  offline functions. With ``center=True`` the stream starts with the same ``frame_length // 2``
  zeros as the offline padding, and ``flush()`` appends the end padding, so even the first and
  last frames match; frames are emitted as soon as their samples have arrived (a centred frame
  therefore lags the input by half a window). Gammatone's causal filter delay needs no
  look-ahead (it looks back).
* CWT: a Morlet wavelet is non-causal, so frame ``i`` is emitted once ``context`` frames of
  input after it have arrived (about 6 wavelet widths of the lowest band: ~0.1 s at 50 Hz);
  ``flush()`` emits the rest as if the signal ended there (zeros after, as offline).

``top_db`` is not offered: it depends on the maximum of the whole image.
"""
from __future__ import annotations

import numpy as np

from ._common import AMIN, power_to_db, valid_audio
from .cwt import CwtSpec, cwt_spec
from .spectral import FrameSpec, gammatone_spec, mel_spec, stft_spec

KINDS = ("stft", "mel", "gammatone", "cwt")


def make_spec(kind: str, *, sample_rate_hz, **settings) -> FrameSpec | CwtSpec:
    """The frame kernel of one image kind ('stft', 'mel', 'gammatone', 'cwt') and settings
    (those of the matching ``*_db`` function, without ref/amin/top_db)."""
    makers = {"stft": stft_spec, "mel": mel_spec, "gammatone": gammatone_spec, "cwt": cwt_spec}
    if kind not in makers:
        raise ValueError(f"kind={kind!r} is not one of {', '.join(KINDS)}")
    try:
        return makers[kind](sample_rate_hz=sample_rate_hz, **settings)
    except TypeError as exc:  # unknown or missing setting
        raise ValueError(f"{kind} settings: {exc}") from None


class StreamingSpectrogram:
    """Incremental image of one kind. ``push(block) -> (image_db (freq, new_frames), times_s)``;
    ``flush()`` ends the stream and returns the remaining frames; ``reset()`` starts again."""

    def __init__(self, kind: str, *, sample_rate_hz, ref: float = 1.0, amin: float = AMIN,
                 **settings):
        self.kind = kind
        self.spec = make_spec(kind, sample_rate_hz=sample_rate_hz, **settings)
        self.ref, self.amin = ref, amin
        power_to_db(np.ones((1, 1), np.float32), ref=ref, amin=amin)  # check ref / amin now
        self.reset()

    @property
    def freqs_hz(self) -> np.ndarray:
        return self.spec.freqs_hz.copy()

    @property
    def sample_rate_hz(self) -> float:
        return self.spec.sample_rate_hz

    @property
    def frames_emitted(self) -> int:
        return self._next

    @property
    def samples_pushed(self) -> int:
        return self._n_in

    def reset(self) -> None:
        spec = self.spec
        self._n_in = 0          # samples pushed so far
        self._next = 0          # index of the next frame to emit
        self._closed = False
        if isinstance(spec, FrameSpec):
            # buffer in padded coordinates; _buf_pos = padded index of _buf[0]
            self._buf = np.zeros(spec.pad, dtype=np.float32)
            self._buf_pos = 0
            self._hist = np.zeros((spec.n_out, 0), dtype=np.float32)
        else:
            self._buf = np.zeros(0, dtype=np.float32)
            self._buf_pos = 0   # signal index of _buf[0]

    def push(self, block) -> tuple[np.ndarray, np.ndarray]:
        if self._closed:
            raise ValueError("stream already flushed; call reset() to start a new one")
        block = np.asarray(block)
        if block.size == 0:
            return self._empty()
        block = valid_audio(block, name="block")
        self._buf = np.concatenate([self._buf, block])
        self._n_in += len(block)
        return self._emit(final=False)

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        if self._closed:
            return self._empty()
        if isinstance(self.spec, FrameSpec) and self.spec.pad:
            self._buf = np.concatenate([self._buf, np.zeros(self.spec.pad, np.float32)])
        out = self._emit(final=True)
        self._closed = True
        return out

    # -------------------------------------------------------------------------------------
    def _empty(self):
        return (np.zeros((self.spec.n_out, 0), dtype=np.float32), np.zeros(0))

    def _db(self, p: np.ndarray, first: int):
        return (power_to_db(p, ref=self.ref, amin=self.amin),
                self.spec.times_s(first, p.shape[1]))

    def _emit(self, *, final: bool):
        spec = self.spec
        first = self._next
        if isinstance(spec, FrameSpec):
            end = self._buf_pos + len(self._buf)  # padded samples available
            avail = 0 if end < spec.frame_length else 1 + (end - spec.frame_length) // spec.hop
            count = avail - first
            if count <= 0:
                return self._empty()
            off = first * spec.hop - self._buf_pos
            frames = np.lib.stride_tricks.sliding_window_view(
                self._buf[off:], spec.frame_length)[::spec.hop][:count]
            raw = spec.power(frames)
            p = spec.delay(raw, self._hist)
            if spec.history:
                self._hist = np.concatenate([self._hist, raw], axis=1)[:, -spec.history:]
            self._next = avail
            keep = self._next * spec.hop - self._buf_pos
            self._buf = self._buf[keep:].copy()
            self._buf_pos += keep
            return self._db(p, first)
        # CWT: frame i needs input up to (i + 1 + context) * hop - hop // 2
        n_total = spec.n_frames(self._n_in)
        if final:
            stop = n_total
        else:
            stop = min(n_total, (self._n_in + spec.hop // 2) // spec.hop - spec.context)
        if stop <= first:
            return self._empty()
        buf, pos = self._buf, self._buf_pos
        p = spec.range_power(lambda a, b: buf[a - pos:b - pos], self._n_in, first, stop)
        self._next = stop
        drop = max(0, (stop - spec.context) * spec.hop - spec.hop // 2 - pos)
        self._buf = self._buf[drop:].copy()
        self._buf_pos += drop
        return self._db(p, first)


class StreamingSTFT(StreamingSpectrogram):
    """Streaming :func:`~clinaudio_gui.dsp.stft_db` (settings: n_fft, hop, window, ...)."""

    def __init__(self, *, sample_rate_hz, **settings):
        super().__init__("stft", sample_rate_hz=sample_rate_hz, **settings)


class StreamingMel(StreamingSpectrogram):
    """Streaming :func:`~clinaudio_gui.dsp.mel_spectrogram_db`."""

    def __init__(self, *, sample_rate_hz, **settings):
        super().__init__("mel", sample_rate_hz=sample_rate_hz, **settings)


class StreamingGammatone(StreamingSpectrogram):
    """Streaming :func:`~clinaudio_gui.dsp.gammatone_spectrogram_db`."""

    def __init__(self, *, sample_rate_hz, **settings):
        super().__init__("gammatone", sample_rate_hz=sample_rate_hz, **settings)


class StreamingCWT(StreamingSpectrogram):
    """Streaming :func:`~clinaudio_gui.dsp.cwt_scalogram_db` (emits ``context`` frames late)."""

    def __init__(self, *, sample_rate_hz, **settings):
        super().__init__("cwt", sample_rate_hz=sample_rate_hz, **settings)
