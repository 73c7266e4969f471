"""Playback through sounddevice, with a playhead position, loop and pitch-kept speed.

A feeder thread reads the recording in blocks (never the whole file), time-stretches them when
the speed is not 1x (librosa phase vocoder: the pitch is kept) and queues them; the PortAudio
callback only copies queued blocks into the output buffer (friture habit). The GUI polls the
position on a timer. Without PortAudio (``import sounddevice`` raises OSError) or without an
output device the player says so and every call is a no-op: the window keeps working.
At construction a background thread warms what the first Play would otherwise wait for (librosa's
phase vocoder JIT, scipy's resampler, the device list; ui/audio_warmup.py).
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time

import numpy as np
from PySide6.QtCore import QObject, QSettings, QTimer, Signal

log = logging.getLogger(__name__)

CHUNK_S = 1.0          # source seconds per feeder block
STRETCH_PAD_S = 0.15   # context on each side of a stretched block (hides block edges)
WARMUP_DELAY_S = 5.0   # the playback warm-up starts this long after the player is made


def _load_sounddevice():
    try:
        import sounddevice as sd
        return sd, ""
    except OSError as e:       # PortAudio library missing
        return None, f"audio output unavailable: PortAudio missing ({e})"
    except ImportError as e:
        return None, f"audio output unavailable: sounddevice not installed ({e})"


class _ArraySource:
    def __init__(self, y: np.ndarray, sr: int):
        self.y = np.asarray(y, np.float32)
        if self.y.ndim == 2:
            self.y = self.y.mean(axis=1, dtype=np.float32)
        self.sample_rate_hz = int(sr)
        self.frames = self.y.shape[0]

    def read(self, a: int, b: int) -> np.ndarray:
        out = np.zeros(max(0, b - a), np.float32)
        lo, hi = max(0, a), min(self.frames, b)
        if hi > lo:
            out[lo - a:hi - a] = self.y[lo:hi]
        return out


class _FileSource:
    def __init__(self, path):
        from clinaudio_gui.ui.spectro import BlockReader
        self.reader = BlockReader(path)
        self.sample_rate_hz = self.reader.sample_rate_hz
        self.frames = self.reader.frames

    def read(self, a: int, b: int) -> np.ndarray:
        return self.reader.read(a, b)


class QtPlayer(QObject):
    positionChanged = Signal(float)      # source seconds being heard
    stateChanged = Signal(str)           # "playing" | "paused" | "stopped"
    message = Signal(str)
    _finished = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sd, self.unavailable = _load_sounddevice()
        qs = QSettings("ClinAudio", "clinaudio-gui")
        self.device_name: str | None = str(qs.value("output_device", "") or "") or None
        self.speed = 1.0
        self.loop = False
        self.paused_at: float | None = None
        self.show_playhead = True
        self._stream = None
        self._feeder: threading.Thread | None = None
        self._stop_feeder = threading.Event()
        self._queue: queue.Queue = queue.Queue(maxsize=6)
        self._cur = None              # (block, offset, src_t0, src_rate_per_out_frame)
        self._clock = (0.0, 0.0, 1.0)  # (dac_time, src_time, src seconds per output second)
        self._range = (0.0, None)
        self._source = None
        self._state = "stopped"
        self._feeder_done = False
        self._out_sr = 0
        self._gen = 0
        self._no_device = False
        self._timer = QTimer(self)
        self._timer.setInterval(33)
        self._timer.timeout.connect(self._poll)
        self._finished.connect(self._on_finished)
        self._warm = threading.Event()
        self._warm_lock = threading.Lock()      # a warm-up step and the start of playback never overlap
        self.warm_report: dict = {}
        if os.environ.get("CLINAUDIO_NO_AUDIO_WARMUP") == "1":   # bench/playback_bench.py's reference
            self._warm.set()
        else:   # a few seconds after start-up: the window draws first (the warm-up is GIL-heavy)
            QTimer.singleShot(int(WARMUP_DELAY_S * 1000), self, self._start_warm_up)   # cancelled with the player

    def _start_warm_up(self) -> None:
        threading.Thread(target=self._warm_up, daemon=True, name="clinaudio-audio-warmup").start()

    def _warm_up(self) -> None:
        """Background: the resampler, the device list and the time-stretch JIT, before the first Play;
        a step waits while audio plays (a JIT compile holds the GIL and would starve the callback)."""
        from clinaudio_gui.ui.audio_warmup import run_step, warm_steps
        try:
            for name, fn in warm_steps(self.sd):
                while True:
                    while self._state == "playing":
                        time.sleep(0.1)
                    with self._warm_lock:
                        if self._state != "playing":
                            self.warm_report[name] = run_step(name, fn)
                            break
        finally:
            self._warm.set()

    def is_warm(self) -> bool:
        """True once the background warm-up is over (the first Play then starts without waiting)."""
        return self._warm.is_set()

    # ---------------------------------------------------------------- devices
    def available(self) -> bool:
        if self.sd is None:
            return False
        try:
            return any(d["max_output_channels"] > 0 for d in self.sd.query_devices())
        except Exception:  # noqa: BLE001
            return False

    def availability(self) -> str:
        """A status line; does not enumerate devices (that waits until playback or the device list)."""
        if self.sd is None:
            return self.unavailable
        if self._no_device:
            return "audio output unavailable: no output device"
        return f"audio out: {self.device_name or 'default device'}"

    def output_devices(self) -> list[str]:
        if self.sd is None:
            return []
        try:
            return [d["name"] for d in self.sd.query_devices() if d["max_output_channels"] > 0]
        except Exception:  # noqa: BLE001
            return []

    def set_device(self, name: str | None) -> None:
        self.device_name = name or None
        if self.is_playing():
            t = self.position()
            self._restart(t)

    # ---------------------------------------------------------------- control
    def is_playing(self) -> bool:
        return self._state == "playing"

    def play_recording(self, recording, *, start_s: float = 0.0, end_s: float | None = None) -> bool:
        try:
            src = _FileSource(recording.path)
        except Exception as e:  # noqa: BLE001
            self.message.emit(f"{recording.path}: cannot play ({e})")
            return False
        self.show_playhead = True
        return self._start(src, start_s, end_s)

    def play_array(self, y, sr: int, *, start_s: float = 0.0, show_playhead: bool = False) -> bool:
        self.show_playhead = show_playhead
        return self._start(_ArraySource(y, sr), 0.0, None, offset_s=start_s)

    def set_speed(self, speed: float) -> None:
        speed = float(speed)
        if not 0.5 <= speed <= 2.0:
            raise ValueError(f"speed={speed} must be within [0.5, 2.0]")
        self.speed = speed
        if self.is_playing():
            self._restart(self.position())

    def pause(self) -> None:
        if self._state == "playing":
            self.paused_at = self.position()
            self._teardown()
            self._set_state("paused")

    def stop(self) -> None:
        self.paused_at = None
        if self._state != "stopped":
            self._teardown()
            self._set_state("stopped")

    def shutdown(self) -> None:
        self.stop()

    def position(self) -> float:
        dac, src_t, rate = self._clock
        if self._stream is None:
            return src_t
        try:
            now = self._stream.time
        except Exception:  # noqa: BLE001
            return src_t
        t = src_t + max(0.0, now - dac) * rate
        end = self._range[1]
        return min(t, end) if end is not None else t

    # ---------------------------------------------------------------- internals
    def _start(self, source, start_s: float, end_s: float | None, *, offset_s: float = 0.0) -> bool:
        self._teardown()
        if self.sd is None:
            self.message.emit(self.unavailable)
            return False
        self._source = source
        self._offset_s = offset_s
        dur = source.frames / source.sample_rate_hz
        end_s = dur if end_s is None else min(dur, end_s)
        self._range = (max(0.0, start_s), end_s)
        with self._warm_lock:          # waits for a warm-up step in progress (never plays against it)
            return self._open(self._range[0])

    def _restart(self, t: float) -> None:
        if self._source is None:
            return
        self._teardown()
        with self._warm_lock:
            self._open(t)

    def _open(self, t: float) -> bool:
        sd = self.sd
        src = self._source
        self._queue = queue.Queue(maxsize=6)
        self._cur = None
        self._feeder_done = False
        self._stop_feeder = threading.Event()
        self._clock = (0.0, t + self._offset_s, self.speed)
        sr = src.sample_rate_hz
        stream = None
        self._gen += 1
        gen = self._gen
        for out_sr in (sr, 48000, 44100):
            try:
                stream = sd.OutputStream(samplerate=out_sr, channels=1, dtype="float32",
                                         device=self.device_name, callback=self._callback,
                                         finished_callback=self._finished_cb(gen), latency="high")
                break
            except Exception as e:  # noqa: BLE001 - try the next rate, then report
                err = e
        if stream is None:
            self._no_device = True
            self.message.emit(f"audio output unavailable: {err}")
            self._set_state("stopped")
            return False
        self._out_sr = int(stream.samplerate)
        self._feeder = threading.Thread(target=self._feed, args=(t, self._stop_feeder), daemon=True,
                                        name="clinaudio-playback-feeder")
        self._feeder.start()
        # wait briefly for the first block so playback starts with sound, not silence
        t_wait = time.monotonic()
        while self._queue.empty() and not self._feeder_done and time.monotonic() - t_wait < 2.0:
            time.sleep(0.005)
        self._stream = stream
        stream.start()
        self.paused_at = None
        self._set_state("playing")
        self._timer.start()
        return True

    def _feed(self, t: float, stop: threading.Event) -> None:
        src = self._source
        sr = src.sample_rate_hz
        start_s, end_s = self._range
        speed = self.speed
        out_sr = self._out_sr
        pos = t
        try:
            while not stop.is_set():
                if pos >= end_s - 1e-6:
                    if self.loop:
                        pos = start_s
                    else:
                        break
                b_s = min(end_s, pos + CHUNK_S)
                a, b = int(round(pos * sr)), int(round(b_s * sr))
                if speed != 1.0:
                    pad = int(STRETCH_PAD_S * sr)
                    y = src.read(a - pad, b + pad)
                    import librosa
                    z = librosa.effects.time_stretch(y, rate=speed)
                    p_out = int(round(pad / speed))
                    n_out = int(round((b - a) / speed))
                    y = np.ascontiguousarray(z[p_out:p_out + n_out], np.float32)
                else:
                    y = src.read(a, b)
                if out_sr != sr:
                    from math import gcd

                    from scipy.signal import resample_poly
                    g = gcd(out_sr, sr)
                    y = resample_poly(y, out_sr // g, sr // g).astype(np.float32)
                rate = (b_s - pos) / max(1, y.shape[0])   # source seconds per output frame
                while not stop.is_set():
                    try:
                        self._queue.put((y, pos + self._offset_s, rate), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                pos = b_s
        except Exception as e:  # noqa: BLE001
            log.exception("playback feeder failed")
            self.message.emit(f"playback failed: {e}")
        self._feeder_done = True

    def _callback(self, outdata, frames, time_info, status) -> None:
        out = outdata[:, 0]
        filled = 0
        first = True
        while filled < frames:
            if self._cur is None:
                try:
                    y, t0, rate = self._queue.get_nowait()
                except queue.Empty:
                    break
                self._cur = [y, 0, t0, rate]
            y, off, t0, rate = self._cur
            if first:
                self._clock = (time_info.outputBufferDacTime, t0 + off * rate, rate * self._out_sr)
                first = False
            n = min(frames - filled, y.shape[0] - off)
            out[filled:filled + n] = y[off:off + n]
            filled += n
            off += n
            if off >= y.shape[0]:
                self._cur = None
            else:
                self._cur[1] = off
        if filled < frames:
            out[filled:] = 0.0
            if self._feeder_done and self._queue.empty() and self._cur is None:
                raise self.sd.CallbackStop

    def _finished_cb(self, gen: int):
        def done() -> None:      # PortAudio thread: only hand over to the GUI thread
            self._finished.emit(gen)
        return done

    def _poll(self) -> None:
        if self._state == "playing" and self.show_playhead:
            self.positionChanged.emit(self.position())

    def _on_finished(self, gen: int) -> None:
        if gen == self._gen and self._state == "playing" and self._feeder_done:
            self._teardown()
            self.paused_at = None
            self._set_state("stopped")

    def _teardown(self) -> None:
        self._timer.stop()
        self._stop_feeder.set()
        s, self._stream = self._stream, None
        if s is not None:
            try:
                s.abort()
                s.close()
            except Exception:  # noqa: BLE001
                pass
        if self._feeder is not None:
            self._feeder.join(timeout=2.0)
            self._feeder = None

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)
