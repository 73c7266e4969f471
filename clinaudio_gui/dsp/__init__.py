"""Spectral front-ends: STFT, mel, gammatone and Morlet-CWT images, offline, streaming and by
time range, plus a min/max waveform pyramid for long recordings.

Every image function returns ``(image_db float32 (freq, time), times_s, freqs_hz)`` with
keyword-only settings and rows in ascending frequency. Pure numpy/scipy (no torch: the batched
torch forms live in :mod:`clinaudio_gui.engine.common.features`, the only layer allowed torch).
"""
from ._common import power_to_db, valid_audio
from .cwt import cwt_scalogram_db, cwt_spec
from .long import WaveformPyramid, spectrogram_tile
from .spectral import (erb_space, gammatone_spec, gammatone_spectrogram_db, mel_filterbank,
                       mel_spec, mel_spectrogram_db, stft_db, stft_spec)
from .streaming import (KINDS, StreamingCWT, StreamingGammatone, StreamingMel,
                        StreamingSpectrogram, StreamingSTFT, make_spec)

__all__ = [
    "valid_audio", "power_to_db",
    "stft_db", "mel_spectrogram_db", "gammatone_spectrogram_db", "cwt_scalogram_db",
    "stft_spec", "mel_spec", "gammatone_spec", "cwt_spec", "mel_filterbank", "erb_space",
    "KINDS", "make_spec", "StreamingSpectrogram", "StreamingSTFT", "StreamingMel",
    "StreamingGammatone", "StreamingCWT", "WaveformPyramid", "spectrogram_tile",
]
