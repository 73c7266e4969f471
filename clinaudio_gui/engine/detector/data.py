"""Whole recordings with strong (onset / offset) labels for the frame-level detector.

Each recording becomes: the classifier's two standardised images (gammatone, CWT) on a 16 ms
frame grid, a frame target (0 = no event, 1..7 = the SPRSound event classes; SPRSound events
never overlap, so one class per frame), its record label, patient and the reference events.
Features are computed once per recording and cached (float16 npz keyed by the feature code's
hash and settings), so a training run after the first spends its time in the network.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from clinaudio_gui.core.errors import ClinAudioError
from clinaudio_gui.engine.common import frontend
from clinaudio_gui.engine.common.data import (EVENT_LABELS, RECORD_LABELS, find_pairs,
                                              normalize_record_label)
from clinaudio_gui.engine.common.frontend import FeatureSettings, compute_features
from clinaudio_gui.io import patient_of, read_audio, read_sprsound
from clinaudio_gui.io.sprsound import file_stem

FRAME_CLASSES = ["(none)"] + list(EVENT_LABELS)   # index 0 = no event
SAMPLE_RATE_HZ = 8000


def detector_settings() -> FeatureSettings:
    return FeatureSettings(sample_rate_hz=SAMPLE_RATE_HZ, hop_s=0.016)


@dataclass
class Recording:
    audio: str
    patient: str
    record_label: str
    duration_s: float
    events: list[tuple[float, float, str]] = field(default_factory=list)
    features: np.ndarray | None = None   # (2, bands, frames) float16
    target: np.ndarray | None = None     # (frames,) int64 in 0..7
    synthetic: bool = False              # a training-only recording made by gan_aug (never scored)

    @property
    def record_index(self) -> int:
        return RECORD_LABELS.index(self.record_label)

    def has_label(self, label: str) -> bool:
        return any(e[2] == label for e in self.events)


def frame_target(events, n_frames: int, hop_s: float) -> np.ndarray:
    """Frame i (centred at i * hop_s) carries the class of the event covering its centre."""
    t = np.arange(n_frames) * hop_s
    y = np.zeros(n_frames, np.int64)
    for start_s, end_s, label in events:
        y[(t >= start_s) & (t < end_s)] = FRAME_CLASSES.index(label)
    return y


def target_events(target: np.ndarray, hop_s: float) -> list[tuple[float, float, str]]:
    """The inverse of frame_target (for tests): runs of one non-zero class as events."""
    out = []
    i, n = 0, len(target)
    while i < n:
        c = int(target[i])
        j = i
        while j < n and target[j] == c:
            j += 1
        if c:
            out.append((i * hop_s, j * hop_s, FRAME_CLASSES[c]))
        i = j
    return out


def _feature_key(s: FeatureSettings) -> str:
    src = inspect.getsource(frontend)
    try:
        from clinaudio_gui.dsp import cwt, spectral
        src += inspect.getsource(cwt) + inspect.getsource(spectral)
    except (OSError, TypeError):
        pass
    blob = json.dumps(s.to_dict(), sort_keys=True) + src
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_audio_8k(path: str | Path) -> np.ndarray:
    y, _ = read_audio(path, target_sr=SAMPLE_RATE_HZ)
    return y


def scan_recordings(data_dir: str | Path) -> list[Recording]:
    """Every SPRSound-labelled recording in a folder (labels only; no audio read)."""
    recs = []
    for audio, js in find_pairs(data_dir):
        a = read_sprsound(js)
        events = []
        for seg in a.sorted_segments():
            if seg.label not in EVENT_LABELS:
                raise ClinAudioError(f"event label {seg.label!r} is not one of {EVENT_LABELS}", path=js)
            if seg.end_s - seg.start_s > 0.01:
                events.append((float(seg.start_s), float(seg.end_s), seg.label))
        try:
            dur = float(sf.info(str(audio)).duration)
        except Exception as e:  # noqa: BLE001 - soundfile raises several types
            raise ClinAudioError(f"unreadable audio: {e}", path=audio) from None
        recs.append(Recording(str(audio), patient_of(audio) or file_stem(audio),
                              normalize_record_label(a.record_label, js), dur, events))
    return recs


def _features_of(audio: str) -> np.ndarray:
    return compute_features(load_audio_8k(audio), detector_settings()).astype(np.float16)


def load_features(recs: list[Recording], *, cache_dir: str | Path | None = None, progress=None,
                  workers: int = 1) -> None:
    """Fill ``features`` and ``target`` of every recording, from the cache when it matches;
    ``workers`` > 1 computes missing features in that many processes (same values)."""
    s = detector_settings()
    key = _feature_key(s)
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"detector-features-{key}.npz"
        if cache.is_file():
            z = np.load(cache, allow_pickle=False)
            names = list(z["names"])
            if names == [r.audio for r in recs]:
                offs = z["offsets"]
                feats = z["features"]   # read once: every z[...] access decompresses the whole array
                for i, r in enumerate(recs):
                    r.features = feats[:, :, offs[i]:offs[i + 1]]
                    r.target = frame_target(r.events, r.features.shape[-1], s.hop_s)
                return
    feats = map(_features_of, [r.audio for r in recs])
    pool = None
    if workers > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"))
        feats = pool.map(_features_of, [r.audio for r in recs], chunksize=8)
    try:
        for i, (r, x) in enumerate(zip(recs, feats)):
            r.features = x
            r.target = frame_target(r.events, x.shape[-1], s.hop_s)
            if progress is not None:
                progress(i + 1, len(recs))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        offs = np.cumsum([0] + [r.features.shape[-1] for r in recs])
        tmp = cache.with_name(cache.name + f".{np.random.randint(1 << 30)}.tmp.npz")
        np.savez(tmp, names=np.array([r.audio for r in recs]), offsets=offs,
                 features=np.concatenate([r.features for r in recs], axis=-1))
        tmp.replace(cache)


def patient_kfold(recs: list[Recording], k: int, *, seed: int = 0) -> np.ndarray:
    """Fold number (0..k-1) per recording: patient-wise (a patient's recordings stay together),
    stratified on the record label with rare event classes spread (scikit-learn's
    StratifiedGroupKFold)."""
    from sklearn.model_selection import StratifiedGroupKFold
    if k < 2:
        raise ValueError(f"folds={k} must be >= 2")
    strata = _strata(recs)
    groups = [r.patient for r in recs]
    fold = np.zeros(len(recs), np.int64)
    sgkf = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for f, (_, te) in enumerate(sgkf.split(np.zeros(len(recs)), strata, groups)):
        fold[te] = f
    return fold


def _strata(recs: list[Recording]) -> list[str]:
    """The stratum of each recording: its rarest event class if it has one of the rare ones,
    else its record label."""
    rare = ["Stridor", "Rhonchi", "Wheeze+Crackle", "Coarse Crackle"]
    out = []
    for r in recs:
        tag = next((x for x in rare if r.has_label(x)), None)
        out.append(f"ev:{tag}" if tag else f"rec:{r.record_label}")
    return out


INNER_SPLITS = ("random", "stratified")


def inner_split(recs: list[Recording], idx: np.ndarray, *, fraction: float = 0.15, seed: int = 0,
                kind: str = "random") -> tuple[np.ndarray, np.ndarray]:
    """Split recording indices into (train, inner validation) by patient (for early stopping,
    decoder thresholds and temperature), never touching an outer fold's test patients.

    ``kind="random"`` (the split of every bundled fold so far): ``fraction`` of the patients drawn
    at random; with 30 patients, the inner validation of the five folds held 36 to 463
    adventitious events, so a fold's decoder could be chosen on 36 of them
    (scripts/detector_inner_split_counts.py).
    ``kind="stratified"``: the first of ``round(1 / fraction)`` patient-wise folds of
    StratifiedGroupKFold over the same strata as the outer folds (record label, rare event
    classes), so every inner validation holds its share of each kind of recording."""
    if kind not in INNER_SPLITS:
        raise ValueError(f"inner split {kind!r}: expected one of {', '.join(INNER_SPLITS)}")
    idx = np.asarray(idx, np.int64)
    n_pat = len({recs[i].patient for i in idx})
    if kind == "stratified" and n_pat >= 2:       # (one patient: the random draw, as below)
        from sklearn.model_selection import StratifiedGroupKFold
        n = max(2, min(n_pat, int(round(1.0 / fraction))))
        sub = [recs[i] for i in idx]
        sgkf = StratifiedGroupKFold(n_splits=n, shuffle=True, random_state=seed)
        with warnings.catch_warnings():     # a stratum rarer than n patients: spread as far as it goes
            warnings.simplefilter("ignore", UserWarning)
            _tr, va_pos = next(sgkf.split(np.zeros(len(sub)), _strata(sub), [r.patient for r in sub]))
        val = {sub[j].patient for j in va_pos}
        return (np.array([i for i in idx if recs[i].patient not in val], np.int64),
                np.array([i for i in idx if recs[i].patient in val], np.int64))
    pats = sorted({recs[i].patient for i in idx})
    rng = np.random.default_rng(seed)
    rng.shuffle(pats)
    n_val = max(1, int(round(fraction * len(pats))))
    val = set(pats[:n_val])
    tr = np.array([i for i in idx if recs[i].patient not in val], np.int64)
    va = np.array([i for i in idx if recs[i].patient in val], np.int64)
    return tr, va
