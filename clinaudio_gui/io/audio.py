"""Audio files: wav, flac, ogg, mp3 (libsndfile via soundfile), any rate and channel count.

Only the asked-for range is read (soundfile seeks), so long files are never loaded whole
just to show or play a part of them.
"""
from __future__ import annotations

import io as _io
import math
import os
import re
import threading
from pathlib import Path

import numpy as np
import soundfile as sf

from clinaudio_gui.core.atomic import atomic_write_bytes
from clinaudio_gui.core.errors import AudioFileError
from clinaudio_gui.core.recording import Recording

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".au")


_TRUNCATED = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.M)


def _sf_info(path: Path):
    try:
        if not path.exists():
            raise AudioFileError("file not found", path=path)
        if path.is_dir():
            raise AudioFileError("is a folder, not an audio file", path=path)
        if path.stat().st_size == 0:
            raise AudioFileError("file is empty", path=path)
        info = sf.info(str(path))
    except AudioFileError:
        raise
    except (sf.SoundFileError, RuntimeError, TypeError, ValueError, OSError) as e:
        raise AudioFileError(f"unsupported or corrupt audio ({_short(e)})", path=path) from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioFileError(f"no audio frames (frames={info.frames}, sample rate={info.samplerate})",
                             path=path)
    # A corrupt MP3 header can claim billions of frames; no MP3 holds more than ~1 kB per second
    # even at its lowest bit rate (8 kbit/s), so a claim beyond that (x4 for safety) is corrupt.
    if info.format.upper() == "MP3":
        max_frames = 4 * info.samplerate * max(1.0, path.stat().st_size / 1000.0)
        if info.frames > max_frames:
            raise AudioFileError(f"corrupt MP3: the header claims {info.frames} frames, a file of "
                                 f"{path.stat().st_size} bytes cannot hold more than {int(max_frames)}",
                                 path=path)
    # libsndfile silently shortens a WAV whose data chunk was cut off; say so instead.
    m = _TRUNCATED.search(info.extra_info or "")
    if m and info.format.upper().startswith("WAV") and int(m.group(1)) < 0xFFFFFFF0:
        declared, present = int(m.group(1)), int(m.group(2))
        if declared > present:
            raise AudioFileError(f"truncated: the header declares {declared} bytes of audio, "
                                 f"the file holds {present}", path=path)
    return info


def _short(e: BaseException) -> str:
    """libsndfile messages repeat the path and span lines; keep one short line."""
    text = " ".join(str(e).split())
    text = re.sub(r"^Error opening '.*?': ", "", text)
    return text.replace("Error : ", "")[:200]


def audio_info(path: str | Path) -> dict:
    """sample_rate_hz, channels, frames, duration_s, format, subtype."""
    path = Path(path)
    info = _sf_info(path)
    return {"path": str(path), "sample_rate_hz": int(info.samplerate), "channels": int(info.channels),
            "frames": int(info.frames), "duration_s": info.frames / float(info.samplerate),
            "format": info.format.lower(), "subtype": info.subtype}


# libsndfile 1.2.2's MPEG decoder returns near-silence after the first partial read or a seek
# (measured: a 440 Hz tone read in 4096-frame blocks is correct only in the first block), while
# one whole-file read is exact. So MP3 is decoded in one call and the result kept for the last
# few files (key: path, size, mtime), so that range reads of the same file stay cheap.
_MP3_CACHE: dict[tuple, np.ndarray] = {}
_MP3_CACHE_FILES = 2
_MP3_LOCK = threading.Lock()   # the GUI reads from worker threads


def _decode_whole_mp3(path: Path) -> np.ndarray:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _MP3_LOCK:
        data = _MP3_CACHE.get(key)
    if data is None:
        with sf.SoundFile(str(path)) as f:
            data = f.read(dtype="float32", always_2d=True)
        with _MP3_LOCK:
            while len(_MP3_CACHE) >= _MP3_CACHE_FILES:
                _MP3_CACHE.pop(next(iter(_MP3_CACHE)))
            _MP3_CACHE[key] = data
    return data


def _read_frames(path: Path, start: int, stop: int | None) -> np.ndarray:
    """float32 (frames, channels) of [start, stop): only that range is read (seek), except MP3."""
    try:
        with sf.SoundFile(str(path)) as f:
            total = f.frames
            start = max(0, min(start, total))
            stop = total if stop is None else max(start, min(stop, total))
            if f.format == "MP3":
                whole = _decode_whole_mp3(path)
                start, stop = min(start, len(whole)), min(stop, len(whole))
                data = whole[start:stop]
            else:
                if start:
                    f.seek(start)
                data = f.read(stop - start, dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, ValueError, OSError) as e:
        raise AudioFileError(f"cannot read audio ({_short(e)})", path=path) from None
    except MemoryError:
        raise AudioFileError(f"cannot read audio: frames {start}-{stop} do not fit in memory "
                             f"(corrupt header?)", path=path) from None
    if data.shape[0] < stop - start:
        raise AudioFileError(f"truncated: expected {stop - start} frames from {start}, got {data.shape[0]}",
                             path=path)
    return data


def open_audio(path: str | Path) -> Recording:
    """A Recording whose samples are read lazily (and by range) from the file."""
    path = Path(path)
    info = _sf_info(path)
    return Recording(path=path, sample_rate_hz=int(info.samplerate), channels=int(info.channels),
                     frames=int(info.frames), format=info.format.lower(), loader=_read_frames)


def read_audio(path: str | Path, *, start_s: float = 0.0, end_s: float | None = None,
               channel: int | None = None, mono: bool = True, target_sr: int | None = None
               ) -> tuple[np.ndarray, int]:
    """(samples, sample_rate_hz). Mono mixdown by default (1-D); ``channel`` picks one channel;
    ``mono=False`` keeps (frames, channels). ``target_sr`` resamples (polyphase, scipy)."""
    path = Path(path)
    info = _sf_info(path)
    sr = int(info.samplerate)
    if not math.isfinite(start_s) or start_s < 0:
        raise ValueError(f"start_s={start_s} must be a finite time >= 0")
    if end_s is not None and (not math.isfinite(end_s) or end_s < start_s):
        raise ValueError(f"end_s={end_s} must be a finite time >= start_s={start_s}")
    if target_sr is not None and (int(target_sr) != target_sr or target_sr <= 0):
        raise ValueError(f"target_sr={target_sr} must be a positive whole number of Hz")
    start = int(round(start_s * sr))
    stop = None if end_s is None else int(round(end_s * sr))
    data = _read_frames(path, start, stop)
    if channel is not None:
        if not 0 <= channel < data.shape[1]:
            raise AudioFileError(f"channel={channel} out of range ({data.shape[1]} channel(s))", path=path)
        y = data[:, channel].copy()
    elif mono:
        y = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0].copy()
    else:
        y = data
    if target_sr is not None and target_sr != sr:
        y = resample(y, orig_sr=sr, target_sr=target_sr)
        sr = int(target_sr)
    return np.ascontiguousarray(y, dtype=np.float32), sr


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Polyphase resampling along axis 0 (anti-aliased)."""
    from math import gcd

    from scipy.signal import resample_poly
    if orig_sr <= 0 or target_sr <= 0:
        raise ValueError(f"sample rates must be positive (orig_sr={orig_sr}, target_sr={target_sr})")
    if orig_sr == target_sr:
        return y
    g = gcd(int(orig_sr), int(target_sr))
    return resample_poly(y, int(target_sr) // g, int(orig_sr) // g, axis=0).astype(np.float32)


_WRITE_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS"),
                  ".mp3": ("MP3", "MPEG_LAYER_III")}


def write_audio(path: str | Path, y: np.ndarray, sample_rate_hz: int, *, subtype: str | None = None) -> Path:
    """Atomic write (temp file + os.replace); the format follows the extension (wav, flac, ogg, mp3).
    ``y`` is (frames,) or (frames, channels)."""
    path = Path(path)
    if path.suffix.lower() not in _WRITE_FORMATS:
        raise AudioFileError(f"cannot write audio of type {path.suffix!r} (use {', '.join(_WRITE_FORMATS)})",
                             path=path)
    fmt, default_subtype = _WRITE_FORMATS[path.suffix.lower()]
    y = np.asarray(y, dtype=np.float32)
    if y.ndim not in (1, 2) or y.shape[0] == 0:
        raise AudioFileError(f"samples must be (frames,) or (frames, channels) with frames > 0, got shape {y.shape}",
                             path=path)
    if not np.all(np.isfinite(y)):
        raise AudioFileError("samples contain NaN or infinity", path=path)
    if int(sample_rate_hz) != sample_rate_hz or sample_rate_hz <= 0:
        raise AudioFileError(f"sample_rate_hz={sample_rate_hz} must be a positive whole number", path=path)
    subtype = subtype or default_subtype
    buf = _io.BytesIO()
    try:
        sf.write(buf, np.clip(y, -1.0, 1.0) if subtype.startswith(("PCM", "MPEG", "VORBIS")) else y,
                 int(sample_rate_hz), format=fmt, subtype=subtype)
    except (sf.SoundFileError, RuntimeError, ValueError, TypeError) as e:
        raise AudioFileError(f"cannot encode {fmt}/{subtype} at {sample_rate_hz} Hz ({_short(e)})", path=path) from None
    atomic_write_bytes(path, buf.getvalue())
    return path


def is_audio_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in AUDIO_SUFFIXES and not os.path.basename(str(path)).startswith(".")
