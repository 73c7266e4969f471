"""The streaming detector on a real (virtual) microphone: `clinaudio live` with its default
model finds events with onset and offset as the recording plays, and on a silent microphone it
says "no signal" and names no adventitious sound."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from clinaudio_gui.io.audio import write_audio

from .conftest import padded_copy, play_into_mic

pytestmark = [pytest.mark.audio, pytest.mark.timeout(300)]
DEVICE = "pulse"


def _live(args, env, timeout=200):
    return subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", "live", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_live_detector_finds_events_as_they_stream(pulse_server, examples_dir, tmp_path):
    wav, _, _ = padded_copy(examples_dir / "40638274_9.7_1_p2_1801.flac", tmp_path, seconds=9.2)
    player = play_into_mic(wav, pulse_server)
    try:
        r = _live(["--device", DEVICE, "--duration", "11", "--hop", "0.5", "--json"], dict(os.environ))
    finally:
        player.wait(timeout=30)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    summary = lines[-1]
    assert summary["overruns"] == 0
    events = summary["events"]
    assert events, ("the streaming detector found no event in a recording with 4 labelled events", lines[:3], summary)
    for e in events:
        assert 0 <= e["start_s"] < e["end_s"] <= summary["duration_s"] + 0.1 and 0 < e["confidence"] <= 1
    assert summary["verdict"] in ("Normal", "CAS", "DAS", "CAS & DAS", "Poor Quality")


def test_live_detector_on_silence_says_no_signal(pulse_server, tmp_path):
    wav = tmp_path / "silence.wav"
    write_audio(wav, np.zeros(8000 * 8, np.float32), 8000)
    player = play_into_mic(wav, pulse_server)
    try:
        r = _live(["--device", DEVICE, "--duration", "6", "--hop", "0.5", "--json"], dict(os.environ))
    finally:
        player.wait(timeout=30)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    preds, summary = lines[:-1], lines[-1]
    assert preds and all(p["label"] == "no signal" for p in preds)
    assert summary["verdict"] == "no signal"
    assert [e for e in summary["events"] if e["label"] != "Normal"] == []
