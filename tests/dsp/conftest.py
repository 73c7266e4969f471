"""Real recordings for the dsp tests (SPRSound 8 kHz, ICBHI 44.1 kHz), loaded once."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf


@pytest.fixture(scope="session")
def spr_clips(sprsound_dir):
    """(name, samples float32, 8000) for four SPRSound recordings spread over the set."""
    flacs = sorted(sprsound_dir.glob("*.flac"))
    assert len(flacs) > 1000, f"expected the SPRSound train set in {sprsound_dir}"
    picks = [flacs[0], flacs[1], flacs[len(flacs) // 2], flacs[-1]]
    out = []
    for p in picks:
        y, sr = sf.read(p, dtype="float32")
        assert sr == 8000
        out.append((p.name, y, sr))
    return out


@pytest.fixture(scope="session")
def icbhi_clip(icbhi_dir):
    """(path, samples float32, 44100) of a 44.1 kHz ICBHI recording."""
    for p in sorted(icbhi_dir.glob("*.wav")):
        info = sf.info(p)
        if info.samplerate == 44100:
            y, sr = sf.read(p, dtype="float32")
            if y.ndim == 2:
                y = y.mean(axis=1)
            return p, np.ascontiguousarray(y, dtype=np.float32), sr
    pytest.fail(f"no 44.1 kHz recording in {icbhi_dir}")
