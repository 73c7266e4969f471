"""Audio-domain transforms (1-D float32 samples at ``sample_rate_hz``).

These are the "meaningful" augmentations of the spectral-image environmental-sound study
(time shift, pitch shift, time stretch, trim silence) plus noise at a target SNR, gain,
filters, polarity inversion and same-class mixing.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from clinaudio_gui.augment import vocoder
from clinaudio_gui.augment.base import (AUDIO, Param, Transform, as_float32, map_segment_times,
                                        register)
from clinaudio_gui.core.segment import Segment


@register
class TimeShift(Transform):
    """Move the sound later (right) or earlier (left) by up to ``max_shift_s``; the gap is
    zero-filled (no wrap-around: a wrapped breath would put an event where none was)."""

    name = "TimeShift"
    summary = "shift in time with zero fill"
    PARAMS = (
        Param("min_shift_s", "s", 0.0, "smallest shift magnitude", low=0.0),
        Param("max_shift_s", "s", 0.5, "largest shift magnitude", low=0.0),
        Param("direction", "", "both", "which way the sound moves", kind="choice",
              choices=("left", "right", "both")),
    )
    slider_param = "shift_s"
    RANGES = ("shift_s",)

    def _randomize(self, rng, context):
        mag = self._draw(rng, "shift_s")
        if self.direction == "both":
            sign = 1.0 if rng.random() < 0.5 else -1.0
        else:
            sign = 1.0 if self.direction == "right" else -1.0
        return {"shift_s": sign * mag}

    def slider_range(self):
        lo = -self.max_shift_s if self.direction in ("left", "both") else self.min_shift_s
        hi = self.max_shift_s if self.direction in ("right", "both") else -self.min_shift_s
        return lo, hi

    def apply(self, x, sample_rate_hz, params):
        x = as_float32(x)
        n = int(round(params["shift_s"] * sample_rate_hz))
        out = np.zeros_like(x)
        if n >= 0:
            if n < len(x):
                out[n:] = x[:len(x) - n]
        elif -n < len(x):
            out[:n] = x[-n:]
        return out

    def map_segments(self, segments, params, *, in_duration_s, out_duration_s):
        n_s = params["shift_s"]
        return map_segment_times(segments, offset_s=n_s, duration_s=out_duration_s)


@register
class PitchShift(Transform):
    """Raise or lower every frequency by a number of semitones; duration and timing unchanged
    (a vectorised phase vocoder, then resampling). Frequency boxes of segments scale too."""

    name = "PitchShift"
    summary = "pitch shift in semitones, same duration"
    PARAMS = (
        Param("min_semitones", "semitones", -2.0, "lowest shift (negative: down)", low=-24, high=24),
        Param("max_semitones", "semitones", 2.0, "highest shift", low=-24, high=24),
    )
    slider_param = "semitones"
    RANGES = ("semitones",)

    def _randomize(self, rng, context):
        return {"semitones": self._draw(rng, "semitones")}

    def slider_range(self):
        return self.min_semitones, self.max_semitones

    def apply(self, x, sample_rate_hz, params):
        return vocoder.pitch_shift(as_float32(x), semitones=float(params["semitones"]),
                                   sample_rate_hz=sample_rate_hz)

    def map_segments(self, segments, params, *, in_duration_s, out_duration_s):
        return map_segment_times(segments, duration_s=out_duration_s,
                                 freq_scale=2.0 ** (params["semitones"] / 12.0))


@register
class TimeStretch(Transform):
    """Speed up (rate > 1: shorter) or slow down (rate < 1: longer) without changing pitch.
    ``rates`` picks one of a fixed set (the study's presets: slow 0.7, fast 1.2); otherwise
    the rate is uniform in [min_rate, max_rate]. Segment times are divided by the rate."""

    name = "TimeStretch"
    summary = "time stretch by a rate (0.7 slow, 1.2 fast)"
    PRESETS = {"slow": 0.7, "fast": 1.2}
    PARAMS = (
        Param("min_rate", "x speed", 0.8, "slowest rate", low=0.05, high=20),
        Param("max_rate", "x speed", 1.25, "fastest rate", low=0.05, high=20),
        Param("rates", "x speed", None, "if given: pick one of these rates instead", kind="list",
              low=0.05, high=20),
    )
    slider_param = "rate"
    RANGES = ("rate",)

    @classmethod
    def preset(cls, which: str, *, p: float = 1.0) -> "TimeStretch":
        if which not in cls.PRESETS:
            raise ValueError(f"TimeStretch preset {which!r} must be one of {sorted(cls.PRESETS)}")
        r = cls.PRESETS[which]
        return cls(min_rate=r, max_rate=r, p=p)

    def _randomize(self, rng, context):
        if self.rates:
            return {"rate": float(self.rates[int(rng.integers(len(self.rates)))])}
        return {"rate": self._draw(rng, "rate")}

    def slider_range(self):
        if self.rates:
            return min(self.rates), max(self.rates)
        return self.min_rate, self.max_rate

    def apply(self, x, sample_rate_hz, params):
        return vocoder.time_stretch(as_float32(x), rate=float(params["rate"]), sample_rate_hz=sample_rate_hz)

    def map_segments(self, segments, params, *, in_duration_s, out_duration_s):
        return map_segment_times(segments, scale=1.0 / params["rate"], duration_s=out_duration_s)


@register
class TrimSilence(Transform):
    """Cut leading and trailing silence: frames whose RMS is more than ``threshold_db``
    below the loudest frame, keeping ``margin_s`` of context on each side. Deterministic
    (nothing to draw); segments are moved and cut with the clip."""

    name = "TrimSilence"
    summary = "trim leading/trailing silence"
    PARAMS = (
        Param("threshold_db", "dB re loudest frame", -30.0, "frames quieter than this are silence",
              low=-120, high=0),
        Param("margin_s", "s", 0.05, "context kept before the first and after the last loud frame",
              low=0.0),
        Param("frame_s", "s", 0.02, "RMS frame length", low=0.001, high=1.0),
    )

    def bounds(self, x: np.ndarray, sample_rate_hz: int) -> tuple[int, int]:
        """[start, stop) sample indices kept."""
        frame = max(1, int(round(self.frame_s * sample_rate_hz)))
        n_frames = len(x) // frame
        if n_frames == 0:
            return 0, len(x)
        body = x[:n_frames * frame].reshape(n_frames, frame)
        power = np.einsum("ij,ij->i", body, body, dtype=np.float64) / frame
        if len(x) > n_frames * frame:
            rest = x[n_frames * frame:].astype(np.float64)
            power = np.append(power, np.mean(rest * rest))
        peak = power.max()
        if peak <= 0:
            return 0, len(x)
        loud = np.flatnonzero(power >= peak * 10.0 ** (self.threshold_db / 10.0))
        margin = int(round(self.margin_s * sample_rate_hz))
        start = max(0, loud[0] * frame - margin)
        stop = min(len(x), (loud[-1] + 1) * frame + margin)
        return int(start), int(stop)

    def apply(self, x, sample_rate_hz, params):
        x = as_float32(x)
        a, b = self.bounds(x, sample_rate_hz)
        return x[a:b].copy()

    def apply_with_segments(self, x, sample_rate_hz, params, segments):
        x = as_float32(x)
        a, b = self.bounds(x, sample_rate_hz)
        segs = map_segment_times(segments, offset_s=-a / sample_rate_hz, duration_s=(b - a) / sample_rate_hz)
        return x[a:b].copy(), segs


def colored_noise(n: int, *, color: str, seed: int) -> np.ndarray:
    """Noise with power ~ 1/f^0 (white), 1/f (pink) or 1/f^2 (brown); float32, roughly unit
    RMS (the caller scales it to the SNR it wants)."""
    rng = np.random.default_rng(seed)
    if color == "white":
        return rng.standard_normal(n, dtype=np.float32)
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.arange(n // 2 + 1, dtype=np.float64)
    f[0] = f[1] if n > 1 else 1.0
    spec *= f ** (-0.5 if color == "pink" else -1.0)
    spec[0] = 0.0
    noise = np.fft.irfft(spec, n=n)
    rms = np.sqrt(np.mean(noise * noise))
    return (noise / rms if rms > 0 else noise).astype(np.float32)


@lru_cache(maxsize=16)
def _load_background(path: str, sample_rate_hz: int) -> np.ndarray:
    from clinaudio_gui.io import read_audio
    y, _ = read_audio(path, target_sr=sample_rate_hz)
    if not np.any(y):
        raise ValueError(f"background noise file {path} is silent")
    y.setflags(write=False)
    return y


@register
class AddNoise(Transform):
    """Add noise at a target signal-to-noise ratio (signal power over the whole clip):
    white, pink, brown, or a recorded background (one of ``background_paths``, looped,
    from a random offset). The noise seed is a drawn param, so apply stays pure."""

    name = "AddNoise"
    summary = "add noise at a target SNR"
    PARAMS = (
        Param("min_snr_db", "dB", 10.0, "lowest SNR (more noise)", low=-40, high=120),
        Param("max_snr_db", "dB", 30.0, "highest SNR", low=-40, high=120),
        Param("color", "", "white", "noise kind", kind="choice",
              choices=("white", "pink", "brown", "background")),
        Param("background_paths", "", None, "recorded noise files (color='background')", kind="paths"),
    )
    slider_param = "snr_db"
    RANGES = ("snr_db",)

    def _validate(self):
        if self.color == "background" and not self.background_paths:
            raise ValueError("AddNoise: color='background' needs background_paths=[...] (got none)")

    def _randomize(self, rng, context):
        d: dict[str, Any] = {"snr_db": self._draw(rng, "snr_db"),
                             "noise_seed": int(rng.integers(2**63 - 1))}
        if self.color == "background":
            d["background_path"] = self.background_paths[int(rng.integers(len(self.background_paths)))]
            d["offset_fraction"] = float(rng.random())
        return d

    def slider_range(self):
        return self.min_snr_db, self.max_snr_db

    def noise(self, n: int, sample_rate_hz: int, params: dict) -> np.ndarray:
        if self.color != "background":
            return colored_noise(n, color=self.color, seed=int(params["noise_seed"]))
        bg = _load_background(str(params["background_path"]), int(sample_rate_hz))
        start = int(params["offset_fraction"] * len(bg))
        reps = int(np.ceil((start + n) / len(bg)))
        seg = np.tile(bg, reps)[start:start + n].astype(np.float64)
        return (seg / np.sqrt(np.mean(seg * seg))).astype(np.float32) if np.any(seg) else seg.astype(np.float32)

    def apply(self, x, sample_rate_hz, params):
        x = as_float32(x)
        p_signal = float(np.dot(x, x)) / len(x)
        if p_signal == 0.0:
            return x.copy()
        noise = self.noise(len(x), sample_rate_hz, params)
        p_noise = float(np.dot(noise, noise)) / len(noise)
        if p_noise == 0.0:
            return x.copy()
        noise *= np.float32(np.sqrt(p_signal / (p_noise * 10.0 ** (params["snr_db"] / 10.0))))
        noise += x
        return noise


@register
class Gain(Transform):
    """Multiply by a gain in dB (no clipping here: the writer clips to the format)."""

    name = "Gain"
    summary = "gain in dB"
    PARAMS = (
        Param("min_gain_db", "dB", -6.0, "lowest gain", low=-120, high=60),
        Param("max_gain_db", "dB", 6.0, "highest gain", low=-120, high=60),
    )
    slider_param = "gain_db"
    RANGES = ("gain_db",)

    def _randomize(self, rng, context):
        return {"gain_db": self._draw(rng, "gain_db")}

    def slider_range(self):
        return self.min_gain_db, self.max_gain_db

    def apply(self, x, sample_rate_hz, params):
        return as_float32(x) * np.float32(10.0 ** (params["gain_db"] / 20.0))


class _Filter(Transform):
    """Zero-phase Butterworth (sosfiltfilt): filtering must not move events in time."""

    btype = "lowpass"

    def _sos(self, params, sample_rate_hz):
        from scipy.signal import butter
        nyq = sample_rate_hz / 2.0
        if self.btype == "bandpass":
            lo, hi = params["low_hz"], params["high_hz"]
            if not 0 < lo < hi < nyq:
                raise ValueError(f"{self.name}: band {lo:.1f}-{hi:.1f} Hz must lie inside 0-{nyq:g} Hz "
                                 f"(sample rate {sample_rate_hz} Hz)")
            return butter(self.order, [lo, hi], btype="bandpass", fs=sample_rate_hz, output="sos")
        fc = params["cutoff_hz"]
        if not 0 < fc < nyq:
            raise ValueError(f"{self.name}: cutoff_hz={fc:.1f} must lie inside 0-{nyq:g} Hz "
                             f"(sample rate {sample_rate_hz} Hz)")
        return butter(self.order, fc, btype=self.btype, fs=sample_rate_hz, output="sos")

    def apply(self, x, sample_rate_hz, params):
        from scipy.signal import sosfiltfilt
        x = as_float32(x)
        sos = self._sos(params, sample_rate_hz)
        if len(x) <= 3 * (2 * len(sos) + 1):
            return x.copy()
        return sosfiltfilt(sos, x).astype(np.float32)


@register
class LowPassFilter(_Filter):
    name = "LowPassFilter"
    summary = "Butterworth low-pass, zero phase"
    btype = "lowpass"
    PARAMS = (
        Param("min_cutoff_hz", "Hz", 1000.0, "lowest cutoff", low=1.0),
        Param("max_cutoff_hz", "Hz", 2000.0, "highest cutoff", low=1.0),
        Param("order", "", 4, "Butterworth order (doubled by forward-backward filtering)", kind="int",
              low=1, high=12),
    )
    slider_param = "cutoff_hz"
    RANGES = ("cutoff_hz",)

    def _randomize(self, rng, context):
        return {"cutoff_hz": self._draw(rng, "cutoff_hz")}

    def slider_range(self):
        return self.min_cutoff_hz, self.max_cutoff_hz


@register
class HighPassFilter(LowPassFilter):
    name = "HighPassFilter"
    summary = "Butterworth high-pass, zero phase"
    btype = "highpass"
    PARAMS = (
        Param("min_cutoff_hz", "Hz", 50.0, "lowest cutoff", low=1.0),
        Param("max_cutoff_hz", "Hz", 150.0, "highest cutoff", low=1.0),
        Param("order", "", 4, "Butterworth order (doubled by forward-backward filtering)", kind="int",
              low=1, high=12),
    )


@register
class BandPassFilter(_Filter):
    name = "BandPassFilter"
    summary = "Butterworth band-pass, zero phase"
    btype = "bandpass"
    PARAMS = (
        Param("min_low_hz", "Hz", 50.0, "lowest lower edge", low=1.0),
        Param("max_low_hz", "Hz", 150.0, "highest lower edge", low=1.0),
        Param("min_high_hz", "Hz", 1500.0, "lowest upper edge", low=1.0),
        Param("max_high_hz", "Hz", 2500.0, "highest upper edge", low=1.0),
        Param("order", "", 4, "Butterworth order per edge", kind="int", low=1, high=12),
    )
    slider_param = "high_hz"
    RANGES = ("low_hz", "high_hz")

    def _validate(self):
        if self.max_low_hz >= self.min_high_hz:
            raise ValueError(f"BandPassFilter: max_low_hz={self.max_low_hz!r} must be < "
                             f"min_high_hz={self.min_high_hz!r}")

    def _randomize(self, rng, context):
        return {"low_hz": self._draw(rng, "low_hz"),
                "high_hz": self._draw(rng, "high_hz")}

    def slider_range(self):
        return self.min_high_hz, self.max_high_hz


@register
class PolarityInversion(Transform):
    """Multiply by -1 (inaudible alone, but changes the waveform a model sees)."""

    name = "PolarityInversion"
    summary = "invert polarity"

    def apply(self, x, sample_rate_hz, params):
        return -as_float32(x)


@lru_cache(maxsize=32)
def _load_partner(path: str, sample_rate_hz: int) -> np.ndarray:
    from clinaudio_gui.io import read_audio
    y, _ = read_audio(path, target_sr=sample_rate_hz)
    y.setflags(write=False)
    return y


@register
class MixSameClass(Transform):
    """Mix in another recording of the same class: out = (1 - w) x + w * partner (partner
    RMS-matched to x, looped/cropped from a random offset). Candidates are
    ``partner_paths`` or, in a batch, the other recordings with the same record label
    (``context['same_class_paths']``). The chosen file is a recorded param."""

    name = "MixSameClass"
    summary = "mix with another recording of the same class"
    PARAMS = (
        Param("min_weight", "fraction", 0.2, "smallest partner weight", low=0.0, high=1.0),
        Param("max_weight", "fraction", 0.5, "largest partner weight", low=0.0, high=1.0),
        Param("partner_paths", "", None, "candidate partner files (else taken from the batch)",
              kind="paths"),
    )
    slider_param = "weight"
    RANGES = ("weight",)

    def _randomize(self, rng, context):
        pool = list(self.partner_paths) or list(context.get("same_class_paths") or [])
        own = context.get("source_path")
        pool = [q for q in pool if q != own]
        d: dict[str, Any] = {"weight": self._draw(rng, "weight"),
                             "offset_fraction": float(rng.random())}
        d["partner_path"] = pool[int(rng.integers(len(pool)))] if pool else None
        return d

    def slider_range(self):
        return self.min_weight, self.max_weight

    def apply(self, x, sample_rate_hz, params):
        x = as_float32(x)
        path = params.get("partner_path")
        if not path:
            return x.copy()  # no partner of that class: nothing to mix (recorded as such)
        other = _load_partner(str(path), int(sample_rate_hz))
        start = int(params["offset_fraction"] * len(other))
        reps = int(np.ceil((start + len(x)) / len(other)))
        seg = np.tile(other, reps)[start:start + len(x)].astype(np.float64)
        rx = np.sqrt(np.mean(x.astype(np.float64) ** 2))
        ro = np.sqrt(np.mean(seg * seg))
        if ro > 0:
            seg *= rx / ro
        w = float(params["weight"])
        return ((1.0 - w) * x + w * seg).astype(np.float32)


AUDIO_TRANSFORMS: Sequence[str] = ("TimeShift", "PitchShift", "TimeStretch", "TrimSilence", "AddNoise",
                                   "Gain", "LowPassFilter", "HighPassFilter", "BandPassFilter",
                                   "PolarityInversion", "MixSameClass")
_ = (AUDIO, Segment)
