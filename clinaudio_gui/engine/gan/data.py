"""Labeled log-mel patches for the conditional GAN and the augmentation study.

Two data set layouts are understood:

* SPRSound style: ``<stem>.flac|wav`` beside ``<stem>.json`` (record label + events). With
  ``labels="events"`` every event is one example (the mel of the event, widened with its real
  surrounding audio to at least one patch); with ``labels="records"`` every record is one example.
* Class folders (ESC-10 style): ``<class folder>/<fold>-<id>-<take>.ogg``; the fold is the first
  digit of the file name when present.

Features are log-mel images in dB; the settings travel as a plain dict (stored in manifests) so a
model and its data always agree. Mel features come from ``clinaudio_gui.dsp.mel_spectrogram_db``
(``features["backend"] = "librosa"`` forces librosa; both agree within 0.002 dB on SPRSound, see
tests/gan), else from librosa with the same settings.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clinaudio_gui.core.errors import ClinAudioError

SPRSOUND_EVENT_CLASSES = ("Normal", "Rhonchi", "Wheeze", "Stridor", "Coarse Crackle", "Fine Crackle",
                          "Wheeze+Crackle")
SPRSOUND_RECORD_CLASSES = ("Normal", "CAS", "DAS", "CAS & DAS", "Poor Quality")

# 8 kHz SPRSound: 64 mel bands x 64 frames of hop 64 = 0.512 s per patch (32 ms window).
SPRSOUND_FEATURES = {"sample_rate_hz": 8000, "n_fft": 256, "hop": 64, "n_mels": 64, "f_min_hz": 50.0,
                     "f_max_hz": 4000.0, "frames": 64, "top_db": 80.0}
# 5-s ESC-10 clips: one whole clip = one 64 x 64 image (16 kHz, hop 1250 = 78 ms, window 128 ms).
CLIP_FEATURES = {"sample_rate_hz": 16000, "n_fft": 2048, "hop": 1250, "n_mels": 64, "f_min_hz": 0.0,
                 "f_max_hz": 8000.0, "frames": 64, "top_db": 80.0}
AUDIO_EXTS = (".flac", ".wav", ".ogg", ".mp3")
MAX_EVENT_FRAMES = 4  # events longer than 4 patches are cut to their central 4 patches


@dataclass
class Example:
    """One labeled mel image (n_mels, >= frames) in dB, with where it came from."""
    mel_db: np.ndarray
    label: str
    patient: str | None
    source: str
    start_s: float
    end_s: float
    fold: int | None = None
    audio: np.ndarray | None = None  # the samples behind mel_db (keep_audio=True), for audio augmentation


def mel_db(y: np.ndarray, feat: dict) -> np.ndarray:
    """Log-mel (n_mels, T) in dB re 1, floored at -top_db below 1 (not below the max, so levels
    are comparable between examples)."""
    y = np.asarray(y, dtype=np.float32)
    img = None
    try:
        from clinaudio_gui.dsp import mel_spectrogram_db  # type: ignore[attr-defined]
    except ImportError:
        mel_spectrogram_db = None
    if mel_spectrogram_db is not None and feat.get("backend", "dsp") == "dsp":
        img, _, _ = mel_spectrogram_db(y, sample_rate_hz=feat["sample_rate_hz"], n_mels=feat["n_mels"],
                                       n_fft=feat["n_fft"], hop=feat["hop"], f_min_hz=feat["f_min_hz"],
                                       f_max_hz=feat["f_max_hz"])
    if img is None:
        import librosa
        p = librosa.feature.melspectrogram(y=y, sr=feat["sample_rate_hz"], n_fft=feat["n_fft"],
                                           hop_length=feat["hop"], n_mels=feat["n_mels"],
                                           fmin=feat["f_min_hz"], fmax=feat["f_max_hz"], power=2.0)
        img = 10.0 * np.log10(np.maximum(p, 1e-10))
    floor = -float(feat.get("top_db", 80.0))
    return np.maximum(np.asarray(img, dtype=np.float32), floor)


def mel_db_to_audio(img_db: np.ndarray, feat: dict, *, n_iter: int = 48, seed: int = 0,
                    momentum: float = 0.99, peak: bool = True) -> np.ndarray:
    """Griffin-Lim through librosa's mel inversion: audible, not exact (phase is guessed).
    momentum 0.99 is librosa's fast Griffin-Lim (Perraudin et al. 2013), 0 the classic one;
    bench/gan_vocoder_bench.py measures both against the input mel. ``peak``: scale down to a
    0.99 peak where louder (off: the level the mel asks for, e.g. before ``vocoder.refine``)."""
    import librosa
    power = np.power(10.0, np.asarray(img_db, dtype=np.float64) / 10.0)
    floor = 10.0 ** (-float(feat.get("top_db", 80.0)) / 10.0)
    power[power <= floor * 1.0001] = 0.0
    stft_mag = librosa.feature.inverse.mel_to_stft(power, sr=feat["sample_rate_hz"], n_fft=feat["n_fft"],
                                                   fmin=feat["f_min_hz"], fmax=feat["f_max_hz"], power=2.0)
    y = librosa.griffinlim(stft_mag, n_iter=n_iter, hop_length=feat["hop"], n_fft=feat["n_fft"],
                           random_state=seed, momentum=momentum)
    y = np.nan_to_num(y.astype(np.float32))
    return peak_limit(y) if peak else y


def peak_limit(y: np.ndarray, limit: float = 0.99) -> np.ndarray:
    """``y`` scaled down to a peak of ``limit`` where it is louder, else unchanged."""
    top = float(np.max(np.abs(y))) if y.size else 0.0
    return y * (limit / top) if top > limit else y


def _fold_of(name: str) -> int | None:
    m = re.match(r"^(\d)-", name)
    return int(m.group(1)) if m else None


def scan_dataset(data_dir: str | Path, *, labels: str = "events") -> tuple[str, list[dict]]:
    """(layout, items): items are dicts path/label/start_s/end_s/patient/fold, no audio read."""
    from clinaudio_gui.io import file_stem, patient_of, read_sprsound
    root = Path(data_dir)
    if not root.is_dir():
        raise ClinAudioError(f"data folder {str(root)!r} does not exist", path=root)
    if labels not in ("events", "records"):
        raise ValueError(f"labels={labels!r} must be 'events' or 'records'")
    audio = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTS and p.is_file())
    if not audio:
        raise ClinAudioError("no audio files (.flac/.wav/.ogg/.mp3) found", path=root)
    with_json = [(p, p.with_name(file_stem(p) + ".json")) for p in audio]
    items: list[dict] = []
    if any(j.is_file() for _, j in with_json):
        for p, j in with_json:
            if not j.is_file():
                continue
            a = read_sprsound(j)
            pat = patient_of(p)
            if labels == "records":
                if a.record_label:
                    items.append({"path": str(p), "label": a.record_label, "start_s": 0.0, "end_s": -1.0,
                                  "patient": pat, "fold": None})
            else:
                for s in a.sorted_segments():
                    items.append({"path": str(p), "label": s.label, "start_s": float(s.start_s),
                                  "end_s": float(s.end_s), "patient": pat, "fold": None})
        return "sprsound", items
    for p in audio:
        if p.parent == root:
            continue
        label = re.sub(r"^\d+\s*-\s*", "", p.parent.name).strip()
        items.append({"path": str(p), "label": label, "start_s": 0.0, "end_s": -1.0, "patient": None,
                      "fold": _fold_of(p.name)})
    if not items:
        raise ClinAudioError("no labels: neither SPRSound JSON files nor class folders", path=root)
    return "folders", items


def default_features(layout: str) -> dict:
    return dict(SPRSOUND_FEATURES if layout == "sprsound" else CLIP_FEATURES)


def _event_bounds(total: int, start_s: float, end_s: float, feat: dict) -> tuple[int, int]:
    """Frame range of an event, widened symmetrically with real context to >= one patch."""
    frames, hop, sr = feat["frames"], feat["hop"], feat["sample_rate_hz"]
    if end_s < 0 or total <= frames:
        return 0, total
    f0 = int(round(start_s * sr / hop))
    f1 = max(f0 + 1, int(round(end_s * sr / hop)))
    length = f1 - f0
    if length > MAX_EVENT_FRAMES * frames:
        mid = (f0 + f1) // 2
        f0, f1 = mid - MAX_EVENT_FRAMES * frames // 2, mid + MAX_EVENT_FRAMES * frames // 2
    elif length < frames:
        mid = (f0 + f1) // 2
        f0 = mid - frames // 2
        f1 = f0 + frames
    if f0 < 0:
        f1, f0 = f1 - f0, 0
    if f1 > total:
        f0, f1 = max(0, f0 - (f1 - total)), total
    return f0, f1


def _slice_event(img: np.ndarray, start_s: float, end_s: float, feat: dict) -> np.ndarray:
    frames = feat["frames"]
    f0, f1 = _event_bounds(img.shape[1], start_s, end_s, feat)
    out = np.ascontiguousarray(img[:, f0:f1])
    if out.shape[1] < frames:
        out = np.pad(out, ((0, 0), (0, frames - out.shape[1])), mode="edge")
    return out


def load_examples(data_dir: str | Path, *, labels: str = "events", features: dict | None = None,
                  max_per_class: int | None = None, seed: int = 0, cache_dir: str | Path | None = None,
                  progress=None, keep_audio: bool = False) -> tuple[list[Example], dict, str]:
    """(examples, features, layout). Each audio file is read and transformed once; events are
    slices of their record's mel. ``max_per_class`` keeps a seeded random subset per class."""
    from clinaudio_gui.io import read_audio
    layout, items = scan_dataset(data_dir, labels=labels)
    feat = dict(features) if features else default_features(layout)
    if max_per_class:
        rng = np.random.default_rng(seed)
        by: dict[str, list[int]] = {}
        for i, it in enumerate(items):
            by.setdefault(it["label"], []).append(i)
        keep = []
        for lab in sorted(by):
            idx = by[lab]
            keep.extend(rng.permutation(idx)[:max_per_class].tolist() if len(idx) > max_per_class else idx)
        items = [items[i] for i in sorted(keep)]
    cache_file = None
    if cache_dir:
        key = hashlib.sha256(json.dumps([str(Path(data_dir).resolve()), labels, feat, keep_audio,
                                         [(it["path"], it["label"], it["start_s"], it["end_s"]) for it in items]],
                                        sort_keys=True).encode()).hexdigest()[:16]
        cache_file = Path(cache_dir) / f"mels-{key}.npz"
        if cache_file.is_file():
            z = np.load(cache_file, allow_pickle=False)
            return [Example(z[f"m{i}"], it["label"], it["patient"], it["path"], it["start_s"], it["end_s"],
                            it["fold"], z[f"a{i}"] if keep_audio else None)
                    for i, it in enumerate(items)], feat, layout
    by_path: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        by_path.setdefault(it["path"], []).append(i)
    out: list[Example | None] = [None] * len(items)
    for n, (path, idxs) in enumerate(by_path.items()):
        try:
            y, _ = read_audio(path, target_sr=feat["sample_rate_hz"])
        except ClinAudioError:
            raise
        except Exception as e:  # a broken file: say which
            raise ClinAudioError(f"cannot read audio: {e}", path=path) from None
        if layout == "folders":  # fixed-length clips: pad/cut to frames * hop
            need = (feat["frames"] - 1) * feat["hop"]
            y = np.pad(y, (0, max(0, need - len(y))))[:need]
        img = mel_db(y, feat)
        for i in idxs:
            it = items[i]
            snippet = None
            if keep_audio:
                f0, f1 = _event_bounds(img.shape[1], it["start_s"], it["end_s"], feat)
                snippet = np.ascontiguousarray(y[f0 * feat["hop"]:max(f0 + 1, f1 - 1) * feat["hop"]], np.float32)
            out[i] = Example(_slice_event(img, it["start_s"], it["end_s"], feat), it["label"], it["patient"],
                             it["path"], it["start_s"], it["end_s"], it["fold"], snippet)
        if progress and (n % 50 == 0 or n == len(by_path) - 1):
            progress(n + 1, len(by_path))
    exs = [e for e in out if e is not None]
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp.npz")  # unique per process: runs share caches
        arrays = {f"m{i}": e.mel_db for i, e in enumerate(exs)}
        if keep_audio:
            arrays.update({f"a{i}": e.audio for i, e in enumerate(exs)})
        np.savez(tmp, **arrays)
        tmp.replace(cache_file)
    return exs, feat, layout


def class_list(examples: list[Example], *, layout: str, labels: str) -> list[str]:
    """Known class order for SPRSound (stable across runs), else sorted names."""
    present = {e.label for e in examples}
    if layout == "sprsound":
        known = SPRSOUND_EVENT_CLASSES if labels == "events" else SPRSOUND_RECORD_CLASSES
        return [c for c in known if c in present] + sorted(present - set(known))
    return sorted(present)


def crop(img: np.ndarray, frames: int, rng: np.random.Generator | None) -> np.ndarray:
    """A frames-wide crop: random with rng, central without."""
    total = img.shape[1]
    if total <= frames:
        return img[:, :frames] if total == frames else np.pad(img, ((0, 0), (0, frames - total)), mode="edge")
    off = int(rng.integers(0, total - frames + 1)) if rng is not None else (total - frames) // 2
    return img[:, off:off + frames]
