"""Signal-quality gate: is there anything to hear before a model is allowed to name a sound?

Four checks on a stretch of audio (a recording, a detector block or a live context window),
each a plain measurement with a threshold set from the SPRSound training release (1,949
recordings, 8 kHz; figures in docs/models.md):

* ``no signal``: RMS level below ``min_rms_dbfs`` (-66 dBFS; the quietest 1 % of SPRSound
  recordings sit at about -60 dBFS; a muted or unplugged microphone is far below);
* ``clipping``: more than ``max_clip_fraction`` (0.1 %; none of SPRSound's recordings has any) of samples at full scale (|x| >= 0.999);
* ``heavy noise``: spectral flatness (geometric / arithmetic mean of the Welch power spectrum,
  100-3500 Hz) above ``max_flatness`` (0.35; white noise is ~1.0; breath sounds fall off steeply
  with frequency, so SPRSound's median is 0.000 and its maximum 0.1, a Poor Quality recording);
* ``no breath sounds``: less than ``min_breath_band_ratio`` (0.8) of the power above 50 Hz lies
  in 50-``breath_band_hz`` Hz (1000 Hz), where lung sounds live (below 50 Hz is heart sound,
  handling rumble and DC, so it is left out of both). Lung sounds through a stethoscope carry
  almost all their power below 1 kHz: in a 2 s window of an SPRSound recording not labelled Poor
  Quality the share is at least 0.868 (1,772 recordings, median 1.000), in an ICBHI sample block
  at least 0.997; barks, cries, crowing, sneezes and ticks put most of theirs above it. Until
  session 18 the band reached 2000 Hz, which let most of them through.

Measured (``python scripts/quality_gate_table.py``; ``--band-hz 2000`` for the gate before
session 18): all 1,949 SPRSound training recordings pass whole but one very quiet Normal
recording (below -66 dBFS, "no signal"), the same with the 2000 Hz band; of the 19 ICBHI sample
blocks (44.1 and 4 kHz, three stethoscopes) 17 pass and the two of one file (103, LittC2SE) are
gated for clipping (0.15 % of samples at full scale); of the 400 ESC-10 clips (none a lung sound) **282 are gated**
(202 with the 2000 Hz band): every rooster, most cries, sneezes, ticks, rain and sea waves, 24 of
40 dog barks, but only 6 of 40 helicopters and half the chainsaws and fires (low, rumbling
sounds). The gate is a floor, not a lung-sound detector. Behind it the detector has a second one
(session 20): a recording in which it decodes no event at all, not even a Normal breathing cycle,
gets no label either ("no breathing cycle found"; engine/detector/infer.py), which catches most of
the rumbling sounds this gate lets through (ESC-10 clips labelled adventitious 90 -> 15 of 400).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.signal import get_window

OK = "ok"


def welch_psd(y: np.ndarray, sample_rate_hz: float, nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    """scipy.signal.welch(y, fs, nperseg=nperseg) with its defaults (periodic Hann, 50 % overlap,
    constant detrend, density scaling, one-sided, mean), in numpy: the same numbers in a tenth of
    the time (scipy's ShortTimeFFT path took 14 ms of the detector's 50 ms budget on a 10 s block;
    tests/detector/test_quality.py compares the two)."""
    y = np.asarray(y, np.float64)
    nper = int(min(nperseg, len(y)))
    win = get_window("hann", nper)
    step = nper - nper // 2
    frames = np.lib.stride_tricks.sliding_window_view(y, nper)[::step]
    frames = (frames - frames.mean(axis=1, keepdims=True)) * win
    p = np.abs(np.fft.rfft(frames, axis=1)) ** 2 / (sample_rate_hz * (win ** 2).sum())
    if nper % 2:
        p[:, 1:] *= 2
    else:
        p[:, 1:-1] *= 2
    return np.fft.rfftfreq(nper, 1.0 / sample_rate_hz), p.mean(axis=0)


@dataclass(frozen=True)
class QualitySettings:
    min_rms_dbfs: float = -66.0
    max_clip_fraction: float = 0.001
    max_flatness: float = 0.35
    min_breath_band_ratio: float = 0.8
    breath_band_hz: float = 1000.0
    min_duration_s: float = 0.25


@dataclass(frozen=True)
class QualityReport:
    status: str
    rms_dbfs: float
    clip_fraction: float
    flatness: float
    breath_band_ratio: float
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_dict(self) -> dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 4) if np.isfinite(v) else None
        return d


def assess_quality(y: np.ndarray, sample_rate_hz: int, settings: QualitySettings | None = None) -> QualityReport:
    """Measure and judge one stretch of mono audio (float, full scale 1.0)."""
    s = settings or QualitySettings()
    y = np.asarray(y, np.float64).reshape(-1)
    if sample_rate_hz <= 0:
        raise ValueError(f"sample_rate_hz={sample_rate_hz} must be > 0")
    dur = len(y) / sample_rate_hz
    if len(y) == 0 or not np.all(np.isfinite(y)):
        return QualityReport("no signal", float("-inf"), 0.0, float("nan"), float("nan"), dur)
    rms = float(np.sqrt(np.mean(y ** 2)))
    rms_db = 20 * np.log10(rms) if rms > 0 else float("-inf")
    clip = float(np.mean(np.abs(y) >= 0.999))
    nper = int(min(len(y), max(64, 2 ** int(np.round(np.log2(0.064 * sample_rate_hz))))))
    f, p = welch_psd(y - y.mean(), sample_rate_hz, nper)
    band = (f >= 100) & (f <= min(3500.0, 0.45 * sample_rate_hz))
    flat = float(np.exp(np.mean(np.log(p[band] + 1e-30))) / (np.mean(p[band]) + 1e-30)) if band.any() else float("nan")
    tot = p[f >= 50].sum()   # below 50 Hz: heart sounds, handling rumble, DC; not breath
    ratio = float(p[(f >= 50) & (f <= s.breath_band_hz)].sum() / tot) if tot > 0 else 0.0
    if rms_db < s.min_rms_dbfs or dur < s.min_duration_s:
        status = "no signal"
    elif clip > s.max_clip_fraction:
        status = "clipping"
    elif flat == flat and flat > s.max_flatness:
        status = "heavy noise"
    elif ratio < s.min_breath_band_ratio:
        status = "no breath sounds"
    else:
        status = OK
    return QualityReport(status, float(rms_db), clip, flat, ratio, dur)
