"""Capture from an input device into a ring buffer; the callback does nothing else.

The PortAudio callback (a real-time thread) copies the block into the preallocated
:class:`~clinaudio_gui.live.ring.RingBuffer`, notes when the block arrived (for latency),
counts PortAudio's input-overflow flag, and returns. Everything else - resampling,
spectrograms, classification - happens in consumers that read the ring at their own pace.

A device that disappears shows up either as PortAudio ending the stream (the finished
callback fires without our asking) or as callbacks that simply stop coming; :meth:`health`
reports both as a clear message, and :meth:`stop` always releases the stream.
"""
from __future__ import annotations

import threading
import time

import numpy as np

from clinaudio_gui.live.devices import (InputDevice, LiveAudioError, find_input_device, sounddevice,
                                        supported_input_rate)
from clinaudio_gui.live.ring import RingBuffer, RingReader

_open_streams_lock = threading.Lock()
_open_streams = 0


def open_stream_count() -> int:
    """Streams opened by this process and not yet closed (for leak checks)."""
    return _open_streams


def _count_stream(delta: int) -> None:
    global _open_streams
    with _open_streams_lock:
        _open_streams += delta


class AudioCapture:
    """One input stream -> one ring buffer of mono float32 at ``capture_rate_hz``."""

    _TS_SLOTS = 8192  # block arrival stamps kept (minutes of history at 20 ms blocks)

    def __init__(self, device: str | int | InputDevice | None = None, *,
                 capture_rate_hz: int | None = None, ring_s: float = 60.0, block_s: float = 0.02,
                 latency_s: float = 0.05, stall_s: float = 1.5, start_grace_s: float = 4.0):
        if ring_s <= 0:
            raise ValueError(f"ring_s={ring_s} must be > 0")
        if not 0.001 <= block_s <= 1.0:
            raise ValueError(f"block_s={block_s} must be between 0.001 and 1 s")
        self.device = device if isinstance(device, InputDevice) else find_input_device(device)
        self.channels = 1
        sd = sounddevice()
        try:
            sd.check_input_settings(device=self.device.index, channels=1, dtype="float32")
        except Exception:  # some hardware only opens in stereo: take the first channel
            self.channels = min(2, self.device.max_input_channels)
        self.capture_rate_hz = (int(capture_rate_hz) if capture_rate_hz
                                else supported_input_rate(self.device, channels=self.channels))
        self.block_frames = max(16, int(round(block_s * self.capture_rate_hz)))
        # Suggested device buffer. Measured with PulseAudio's ALSA plugin (20 ms blocks): up to
        # 60 ms, blocks arrive evenly every 20 ms, but the stream sometimes needs ~2 s to start
        # (an xrun recovery); from 80 ms on it starts at once, but blocks come in bursts every
        # 40 ms, which adds ~20 ms to every prediction. Steady latency wins: 50 ms. Our latency
        # figure starts when a block arrives; PortAudio's buffer is shown as input_latency_ms.
        self.latency_s = max(float(latency_s), 2.0 * block_s)
        self.stall_s = float(stall_s)
        self.start_grace_s = max(float(start_grace_s), self.stall_s)
        self.ring = RingBuffer(int(ring_s * self.capture_rate_hz))
        self._ts_end = np.zeros(self._TS_SLOTS, dtype=np.int64)   # ring total after the block
        self._ts_t = np.zeros(self._TS_SLOTS, dtype=np.float64)   # time.monotonic() at arrival
        self._ts_n = 0
        self.input_overflows = 0
        self.callback_errors = 0
        self._stream = None
        self._stopping = False
        self._finished_unexpectedly = False
        self.started_at: float | None = None
        self.input_latency_s = 0.0

    # ---- the real-time part -------------------------------------------------
    def _callback(self, indata, frames, time_info, status) -> None:
        try:
            if status.input_overflow:
                self.input_overflows += 1
            self.ring.write(indata[:, 0])
            i = self._ts_n % self._TS_SLOTS
            self._ts_end[i] = self.ring._total
            self._ts_t[i] = time.monotonic()
            self._ts_n += 1
        except Exception:  # never let an exception kill PortAudio's thread
            self.callback_errors += 1

    def _finished(self) -> None:
        if not self._stopping:
            self._finished_unexpectedly = True

    # ---- control ---------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._stream is not None

    def start(self) -> None:
        if self._stream is not None:
            return
        sd = sounddevice()
        self._stopping = False
        self._finished_unexpectedly = False
        try:
            stream = sd.InputStream(device=self.device.index, samplerate=self.capture_rate_hz,
                                    channels=self.channels, dtype="float32", blocksize=self.block_frames,
                                    latency=self.latency_s, callback=self._callback,
                                    finished_callback=self._finished)
        except Exception as e:
            raise LiveAudioError(f"cannot open input device {self.device.name!r} at "
                                 f"{self.capture_rate_hz} Hz: {e}") from None
        _count_stream(+1)
        try:
            stream.start()
        except Exception as e:
            try:
                stream.close()
            finally:
                _count_stream(-1)
            raise LiveAudioError(f"cannot start input device {self.device.name!r}: {e}") from None
        self._stream = stream
        self.started_at = time.monotonic()
        try:
            self.input_latency_s = float(stream.latency)
        except Exception:
            self.input_latency_s = 0.0

    def stop(self) -> None:
        """Stop and close the stream (safe to call twice, and after the device vanished)."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        self._stopping = True
        try:
            try:
                stream.abort()  # a vanished device may hang a graceful stop
            except Exception:
                pass
            try:
                stream.close()
            except Exception:
                pass
        finally:
            _count_stream(-1)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- consumers -----------------------------------------------------------
    def reader(self, *, from_start: bool = False) -> RingReader:
        return self.ring.reader(from_start=from_start)

    @property
    def frames_captured(self) -> int:
        return self.ring.total

    def arrival_time(self, frame_index: int) -> float | None:
        """time.monotonic() at which frame ``frame_index`` reached this process: the arrival
        of the block holding it, minus its distance from that block's end."""
        n = self._ts_n
        if n == 0:
            return None
        lo = max(0, n - self._TS_SLOTS + 1)  # the oldest slot may be being rewritten: skip it
        ends = self._ts_end
        # binary search the first block whose end is beyond frame_index (ends increase)
        a, b = lo, n - 1
        if ends[b % self._TS_SLOTS] <= frame_index:
            return None  # not captured yet
        while a < b:
            m = (a + b) // 2
            if ends[m % self._TS_SLOTS] > frame_index:
                b = m
            else:
                a = m + 1
        end = int(ends[a % self._TS_SLOTS])
        t = float(self._ts_t[a % self._TS_SLOTS])
        return t - (end - 1 - frame_index) / self.capture_rate_hz

    @property
    def start_delay_s(self) -> float | None:
        """From start() to the first block's arrival (device and sound-server start-up)."""
        if self._ts_n == 0 or self.started_at is None:
            return None
        return float(self._ts_t[0]) - self.started_at

    def last_block_age_s(self) -> float | None:
        n = self._ts_n
        if n == 0:
            return None
        return time.monotonic() - float(self._ts_t[(n - 1) % self._TS_SLOTS])

    def health(self) -> str | None:
        """None while audio flows; else a message saying what went wrong."""
        if self._stream is None and self.started_at is None:
            return None
        name = self.device.name
        if self._finished_unexpectedly:
            return f"input device {name!r} stopped delivering audio (disconnected?)"
        if self._stream is not None and self.started_at is not None:
            age = self.last_block_age_s()
            since_start = time.monotonic() - self.started_at
            if (age is None and since_start > self.start_grace_s) or (age is not None and age > self.stall_s):
                return (f"no audio from input device {name!r} for "
                        f"{(age if age is not None else since_start):.1f} s (disconnected or suspended?)")
        if self.callback_errors:
            return f"{self.callback_errors} audio block(s) could not be stored"
        return None
