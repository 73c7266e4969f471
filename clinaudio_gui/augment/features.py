"""Audio -> spectrogram image for spectrogram-domain recipes (and the preview).

Uses ``clinaudio_gui.dsp.mel_spectrogram_db`` (same numbers as librosa's mel + power_to_db),
falling back to librosa itself where the dsp module does not provide it.
"""
from __future__ import annotations

import numpy as np


def mel_db(y: np.ndarray, *, sample_rate_hz: int, n_mels: int = 64, n_fft: int = 512, hop: int = 128,
           f_min_hz: float = 50.0, f_max_hz: float | None = None, top_db: float | None = 80.0) -> np.ndarray:
    """float32 (n_mels, frames) mel power spectrogram in dB (ref 1.0, floor top_db below peak)."""
    try:
        from clinaudio_gui.dsp import mel_spectrogram_db
    except ImportError:
        mel_spectrogram_db = None
    if mel_spectrogram_db is not None:
        img, _, _ = mel_spectrogram_db(y, sample_rate_hz=sample_rate_hz, n_mels=n_mels, n_fft=n_fft, hop=hop,
                                       f_min_hz=f_min_hz, f_max_hz=f_max_hz, top_db=top_db)
        return np.asarray(img, dtype=np.float32)
    import librosa
    m = librosa.feature.melspectrogram(y=np.asarray(y, dtype=np.float32), sr=sample_rate_hz, n_fft=n_fft,
                                       hop_length=hop, n_mels=n_mels, fmin=f_min_hz, fmax=f_max_hz, power=2.0)
    return librosa.power_to_db(m, ref=1.0, amin=1e-10, top_db=top_db).astype(np.float32)


def features_image(y: np.ndarray, sample_rate_hz: int, features: dict) -> np.ndarray:
    if features.get("kind", "mel_db") != "mel_db":
        raise ValueError(f"features kind={features.get('kind')!r} is not supported (only 'mel_db')")
    return mel_db(y, sample_rate_hz=sample_rate_hz, n_mels=int(features["n_mels"]), n_fft=int(features["n_fft"]),
                  hop=int(features["hop"]), f_min_hz=float(features["f_min_hz"]),
                  f_max_hz=features.get("f_max_hz"), top_db=features.get("top_db"))
