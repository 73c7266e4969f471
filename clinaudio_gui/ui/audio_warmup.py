"""Warm the playback path in the background so the first Play starts at once (Qt-free).

What the first playback otherwise waits for on the GUI thread (measured: 2.0 s at 0.5x on this
machine, see bench/playback_bench.py): importing librosa and JIT-compiling its phase vocoder
(any speed other than 1x), importing scipy.signal for resampling to the device rate, and
PortAudio's device list. ``warm_playback`` does each once on tiny data; call it in a thread.
"""
from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


def warm_playback(sd=None) -> dict:
    """Returns what was warmed, e.g. {"stretch": True, "resample": True, "devices": 3}."""
    done: dict = {}
    y = (0.01 * np.sin(np.arange(8000) * 0.05)).astype(np.float32)
    try:
        import librosa
        librosa.effects.time_stretch(y, rate=0.5)
        librosa.effects.time_stretch(y, rate=1.5)
        done["stretch"] = True
    except Exception as e:  # noqa: BLE001 - warming is best effort; playback reports real errors
        log.info("time-stretch warm-up failed: %s", e)
        done["stretch"] = False
    try:
        from scipy.signal import resample_poly
        resample_poly(y, 6, 1)
        done["resample"] = True
    except Exception as e:  # noqa: BLE001
        log.info("resampler warm-up failed: %s", e)
        done["resample"] = False
    if sd is not None:
        try:
            done["devices"] = sum(1 for d in sd.query_devices() if d["max_output_channels"] > 0)
        except Exception as e:  # noqa: BLE001
            log.info("device list warm-up failed: %s", e)
            done["devices"] = 0
    return done
