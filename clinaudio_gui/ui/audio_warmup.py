"""Warm the playback path in the background so the first Play starts at once (Qt-free).

What the first playback otherwise waits for (measured with bench/playback_bench.py: about 2 s at
0.5x): importing librosa and JIT-compiling its phase vocoder (any speed other than 1x), importing
scipy.signal for resampling to the device rate, and PortAudio's device list. ``warm_steps`` lists
these as separate steps on tiny data; the player runs them one by one in a thread and never while
it plays (a JIT compile holds the GIL and would starve the audio callback).
"""
from __future__ import annotations

import logging
from typing import Callable

import numpy as np

log = logging.getLogger(__name__)


def _tone() -> np.ndarray:
    return (0.01 * np.sin(np.arange(8000) * 0.05)).astype(np.float32)


def _resample():
    from scipy.signal import resample_poly
    resample_poly(_tone(), 6, 1)
    return True


def _stretch():
    import librosa
    for rate in (0.5, 0.75, 1.5):
        librosa.effects.time_stretch(_tone(), rate=rate)
    return True


def warm_steps(sd=None) -> list[tuple[str, Callable[[], object]]]:
    steps: list[tuple[str, Callable[[], object]]] = [("resample", _resample)]
    if sd is not None:
        steps.append(("devices", lambda: sum(1 for d in sd.query_devices() if d["max_output_channels"] > 0)))
    steps.append(("stretch", _stretch))
    return steps


def run_step(name: str, fn: Callable[[], object]) -> object:
    """One step; a failure is logged and reported as False (warming is best effort)."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - playback itself reports real errors
        log.info("%s warm-up failed: %s", name, e)
        return False
