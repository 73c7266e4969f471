"""Real clips for the augment tests: a SPRSound recording with events, its mel image."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def _with_events(sprsound_dir: Path, n: int = 1) -> list[Path]:
    out = []
    for j in sorted(sprsound_dir.glob("*.json")):
        d = json.loads(j.read_text())
        if d.get("event_annotation"):
            out.append(j.with_suffix(".flac"))
            if len(out) == n:
                break
    return out


@pytest.fixture(scope="session")
def labeled_flacs(sprsound_dir) -> list[Path]:
    return _with_events(sprsound_dir, 3)


@pytest.fixture(scope="session")
def clip(labeled_flacs):
    """(samples float32, sample_rate_hz) of a real SPRSound recording."""
    from clinaudio_gui.io import read_audio
    y, sr = read_audio(labeled_flacs[0])
    return y, sr


@pytest.fixture(scope="session")
def image(clip):
    from clinaudio_gui.augment.features import mel_db
    y, sr = clip
    return mel_db(y, sample_rate_hz=sr, n_mels=64, n_fft=512, hop=128, top_db=80.0)
