"""The streaming detector on a real (virtual) microphone: `clinaudio live` with its default
model finds events with onset and offset as the recording plays, and on a silent microphone it
says "no signal" and names no adventitious sound."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from clinaudio_gui.io.audio import write_audio

from .conftest import padded_copy, play_into_mic, source_outputs

pytestmark = [pytest.mark.audio, pytest.mark.timeout(300)]
DEVICE = "pulse"


def _live(args, env, timeout=200):
    return subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", "live", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def _live_then_play(args, wav, pulse, timeout=200):
    """Start `clinaudio live`, wait until its recording stream is open on the sound server, then
    play ``wav`` into the microphone: the capture hears the whole file however long the command
    takes to start (torch, the model, its warm-up; seconds on a loaded machine)."""
    before = source_outputs(pulse)
    proc = subprocess.Popen([sys.executable, "-m", "clinaudio_gui.cli", "live", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    t_end = time.monotonic() + 120
    while source_outputs(pulse) <= before:
        if proc.poll() is not None or time.monotonic() > t_end:
            out, err = proc.communicate(timeout=30) if proc.poll() is None else proc.communicate()
            pytest.fail(f"`clinaudio live` opened no recording stream (exit {proc.returncode}): {err[-2000:]}")
        time.sleep(0.05)
    player = play_into_mic(wav, pulse)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        player.wait(timeout=30)
    assert player.returncode == 0, player.stderr.read()[-500:]
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_live_detector_finds_events_as_they_stream(pulse_server, examples_dir, tmp_path):
    wav, _, _ = padded_copy(examples_dir / "40638274_9.7_1_p2_1801.flac", tmp_path, seconds=9.2)
    r = _live_then_play(["--device", DEVICE, "--duration", "11", "--hop", "0.5", "--json"], wav, pulse_server)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    summary = lines[-1]
    assert summary["overruns"] == 0
    events = summary["events"]
    assert events, ("the streaming detector found no event in a recording with 4 labelled events", lines[:3], summary)
    for e in events:
        assert 0 <= e["start_s"] < e["end_s"] <= summary["duration_s"] + 0.1 and 0 < e["confidence"] <= 1
    assert summary["verdict"] in ("Normal", "CAS", "DAS", "CAS & DAS", "Poor Quality")
    # offline, `clinaudio detect` finds 5 Fine Crackle events in this recording (3 labelled)
    assert sum(e["label"] == "Fine Crackle" for e in events) >= 3, events


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
