"""The classifier's two input images: a gammatone spectrogram and a Morlet CWT scalogram.

``compute_features`` takes both from the dsp layer (``gammatone_spectrogram_db``,
``cwt_scalogram_db``) on one frame grid (``hop_s``) so they stack into one
``(2, n_bands, n_frames)`` array. ``compute_features_numpy`` is the engine's own numpy version
of the same images, kept as a cross-check:

* gammatone: power spectrum (STFT) weighted by 4th-order gammatone magnitude responses at
  ERB-spaced centres (the "FFT gammatonegram" of Ellis' gammatone toolbox);
* CWT: analytic Morlet (w0 = 6) in the frequency domain; each scale's band is shifted to
  baseband and inverse-transformed at a reduced length (exact magnitude, decimated time), then
  the power is averaged into the frame grid.

Images are in dB, floored at ``max - 80 dB``, then standardised per image (mean 0, std 1) so
recording level does not matter.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import fft as sp_fft


@dataclass(frozen=True)
class FeatureSettings:
    sample_rate_hz: int = 8000
    n_bands: int = 64
    f_min_hz: float = 50.0
    f_max_hz: float = 3800.0
    hop_s: float = 0.016
    n_fft: int = 512
    dynamic_range_db: float = 80.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureSettings":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def erb_space(f_min_hz: float, f_max_hz: float, n: int) -> np.ndarray:
    """n centre frequencies equally spaced on the ERB-rate scale (Glasberg & Moore)."""
    def erb_rate(f):
        return 21.4 * np.log10(1 + 0.00437 * f)

    e = np.linspace(erb_rate(f_min_hz), erb_rate(f_max_hz), n)
    return (10 ** (e / 21.4) - 1) / 0.00437


_GT_CACHE: dict = {}
_CWT_CACHE: dict = {}


def _gammatone_weights(s: FeatureSettings) -> np.ndarray:
    key = (s.sample_rate_hz, s.n_bands, s.f_min_hz, s.f_max_hz, s.n_fft)
    w = _GT_CACHE.get(key)
    if w is None:
        fc = erb_space(s.f_min_hz, s.f_max_hz, s.n_bands)[:, None]
        f = np.fft.rfftfreq(s.n_fft, 1.0 / s.sample_rate_hz)[None, :]
        b = 1.019 * 24.7 * (4.37 * fc / 1000 + 1)
        w = (1 + ((f - fc) / b) ** 2) ** (-4)  # |H|^2 of a 4th-order gammatone
        w = (w / w.sum(axis=1, keepdims=True)).astype(np.float32)
        _GT_CACHE[key] = w
    return w


def n_frames_for(n_samples: int, s: FeatureSettings) -> int:
    hop = int(round(s.hop_s * s.sample_rate_hz))
    return max(1, int(np.ceil(n_samples / hop)))


def gammatone_power(y: np.ndarray, s: FeatureSettings) -> np.ndarray:
    hop = int(round(s.hop_s * s.sample_rate_hz))
    n_frames = n_frames_for(len(y), s)
    pad = s.n_fft // 2
    yp = np.pad(y.astype(np.float32), (pad, pad + hop * n_frames - len(y) + 1))
    idx = np.arange(n_frames)[:, None] * hop + np.arange(s.n_fft)[None, :]
    frames = yp[idx] * np.hanning(s.n_fft).astype(np.float32)
    p = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (T, F)
    return _gammatone_weights(s) @ p.T.astype(np.float32)  # (bands, T)


def _cwt_plan(n: int, s: FeatureSettings):
    key = (n, s.sample_rate_hz, s.n_bands, s.f_min_hz, s.f_max_hz)
    plan = _CWT_CACHE.get(key)
    if plan is None:
        sr = s.sample_rate_hz
        fc = np.geomspace(s.f_min_hz, s.f_max_hz, s.n_bands)
        df = sr / n
        plan = []
        for f0 in fc:
            sigma = f0 / 6.0  # Morlet w0 = 6: sigma_f = fc / w0
            lo = max(0, int(np.floor((f0 - 3 * sigma) / df)))
            hi = min(n // 2, int(np.ceil((f0 + 3 * sigma) / df)))
            bins = np.arange(lo, hi + 1)
            g = np.exp(-0.5 * ((bins * df - f0) / sigma) ** 2).astype(np.float32)
            m = sp_fft.next_fast_len(max(16, len(bins)))
            plan.append((lo, bins, g, m))
        if len(_CWT_CACHE) > 64:
            _CWT_CACHE.clear()
        _CWT_CACHE[key] = plan
    return plan


def cwt_power(y: np.ndarray, s: FeatureSettings) -> np.ndarray:
    n = len(y)
    n_frames = n_frames_for(n, s)
    hop = int(round(s.hop_s * s.sample_rate_hz))
    X = sp_fft.rfft(y.astype(np.float32))
    out = np.empty((s.n_bands, n_frames), np.float32)
    edges_s = np.arange(n_frames + 1) * hop  # frame edges in samples
    for k, (lo, bins, g, m) in enumerate(_cwt_plan(n, s)):
        spec = np.zeros(m, np.complex64)
        spec[: len(bins)] = X[bins] * g
        env = np.abs(sp_fft.ifft(spec)) ** 2 * (m / n) ** 2  # envelope power at m points over n samples
        # average env (m points spanning n samples) over each frame
        pos = np.clip((edges_s * m / n).astype(np.int64), 0, m)
        c = np.concatenate([[0.0], np.cumsum(env)])
        a = pos[:-1]
        b = np.maximum(pos[1:], a + 1)
        b = np.minimum(b, m)
        a = np.minimum(a, m - 1)
        out[k] = (c[b] - c[a]) / np.maximum(b - a, 1)
    return out


def _norm_db(db: np.ndarray, s: FeatureSettings) -> np.ndarray:
    db = np.maximum(db, db.max() - s.dynamic_range_db)
    sd = db.std()
    return ((db - db.mean()) / (sd if sd > 1e-6 else 1.0)).astype(np.float32)


def compute_db_images(y: np.ndarray, s: FeatureSettings) -> np.ndarray:
    """(2, n_bands, n_frames) raw dB images [gammatone, cwt] (not yet floored / standardised):
    computed once for a whole recording, then sliced into windows with ``normalize_images``."""
    from clinaudio_gui.dsp import cwt_scalogram_db, gammatone_spectrogram_db
    y = np.asarray(y, np.float32)
    if len(y) < s.n_fft:
        y = np.pad(y, (0, s.n_fft - len(y)))
    sr = s.sample_rate_hz
    g, _, _ = gammatone_spectrogram_db(y, sample_rate_hz=sr, n_bands=s.n_bands, f_min_hz=s.f_min_hz,
                                       f_max_hz=s.f_max_hz, window_s=s.n_fft / sr, hop_s=s.hop_s,
                                       center=True, filter_delay=False)
    c, _, _ = cwt_scalogram_db(y, sample_rate_hz=sr, n_scales=s.n_bands, f_min_hz=s.f_min_hz,
                               f_max_hz=s.f_max_hz, hop_s=s.hop_s, w0=6.0)
    t = min(g.shape[1], c.shape[1])
    return np.stack([g[:, :t], c[:, :t]])


def normalize_images(db: np.ndarray, s: FeatureSettings) -> np.ndarray:
    """Floor at max - dynamic range and standardise each of the stacked images."""
    return np.stack([_norm_db(im, s) for im in db])


def compute_features(y: np.ndarray, s: FeatureSettings) -> np.ndarray:
    """(2, n_bands, n_frames) float32: [gammatone, cwt] from the dsp layer, standardised dB images.

    gammatone: ``dsp.gammatone_spectrogram_db`` (window n_fft samples, centred frames, no filter
    delay shift); cwt: ``dsp.cwt_scalogram_db`` (Morlet w0 = 6, log-spaced scales). Both on the
    same hop, so the frames line up.
    """
    return normalize_images(compute_db_images(y, s), s)


def compute_features_numpy(y: np.ndarray, s: FeatureSettings) -> np.ndarray:
    """The engine's own numpy version of the same two images (kept as a cross-check of the dsp
    layer: the images correlate > 0.98 with compute_features)."""
    y = np.asarray(y, np.float32)
    if len(y) < s.n_fft:
        y = np.pad(y, (0, s.n_fft - len(y)))
    g = _norm_db(10.0 * np.log10(np.maximum(gammatone_power(y, s), 1e-12)), s)
    c = _norm_db(10.0 * np.log10(np.maximum(cwt_power(y, s), 1e-12)), s)
    t = min(g.shape[1], c.shape[1])
    return np.stack([g[:, :t], c[:, :t]])
