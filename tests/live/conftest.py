"""Live-audio helpers: a real SPRSound recording played into the virtual microphone."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from clinaudio_gui.io import read_audio, write_audio

PAD_S = 0.5  # silence around the played file: PulseAudio drops the first ~50 ms


def pick_recording(sprsound_dir: Path, *, min_s: float = 9.0) -> Path:
    """The first recording (sorted) that has both normal and adventitious events and lasts
    long enough: the live labels then have something to change between."""
    for js in sorted(sprsound_dir.glob("*.json")):
        d = json.loads(js.read_text())
        types = {e.get("type") for e in d.get("event_annotation", [])}
        if "Normal" in types and len(types) >= 2:
            audio = js.with_suffix(".flac")
            if audio.exists():
                y, sr = read_audio(audio)
                if len(y) / sr >= min_s:
                    return audio
    pytest.fail(f"no suitable recording in {sprsound_dir}")


@pytest.fixture(scope="session")
def live_recording(sprsound_dir) -> Path:
    return pick_recording(sprsound_dir)


def padded_copy(src: Path, folder: Path, *, seconds: float) -> tuple[Path, np.ndarray, int]:
    """``seconds`` of ``src`` with PAD_S of silence each side, as a WAV paplay can play."""
    y, sr = read_audio(src, end_s=seconds)
    pad = np.zeros(int(PAD_S * sr), np.float32)
    out = folder / f"play_{src.name.replace('.flac', '')}_{seconds:g}.wav"
    write_audio(out, np.concatenate([pad, y, pad]), sr)
    return out, y, sr


def play_into_mic(path: Path, pulse: dict) -> subprocess.Popen:
    return subprocess.Popen(["paplay", f"--device={pulse['mic_feed']}", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for_audio(capture, timeout_s: float = 5.0) -> None:
    """Block until the stream delivers (the sound server takes up to ~1.5 s for a process's
    first stream): audio played before that is lost, as speech before pressing Start would be."""
    t0 = time.monotonic()
    while capture.frames_captured == 0:
        if time.monotonic() - t0 > timeout_s:
            pytest.fail(f"no audio from {capture.device.name!r} within {timeout_s} s")
        time.sleep(0.01)


def lag_samples(captured: np.ndarray, y: np.ndarray, sr: int) -> int:
    """Where the file's first samples sit in the captured stream (cross-correlation)."""
    from scipy.signal import correlate
    probe = y[: 2 * sr]
    c = correlate(captured, probe, mode="valid", method="fft")
    return int(np.argmax(np.abs(c)))


def source_outputs(pulse: dict) -> int:
    """Recording streams the sound server has open right now (an external leak check)."""
    r = subprocess.run(["pactl", "list", "short", "source-outputs"], capture_output=True, text=True,
                       env=dict(os.environ))
    return len([ln for ln in r.stdout.splitlines() if ln.strip()])


def second_server(runtime: Path) -> dict:
    """A second private sound server with its own virtual mic (it stands for a USB device
    that can be unplugged: kill the server). Returns its environment."""
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), PULSE_RUNTIME_PATH=str(runtime / "pulse"))
    env.pop("PULSE_SERVER", None)
    cmd = ["pulseaudio", "--daemonize=yes", "-n", "--exit-idle-time=-1", "--disallow-exit",
           "-L", "module-native-protocol-unix",
           "-L", "module-null-sink sink_name=feed2 rate=16000 channels=1",
           "-L", "module-remap-source master=feed2.monitor source_name=mic2"]
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    for _ in range(50):
        if subprocess.run(["pactl", "info"], capture_output=True, env=env).returncode == 0:
            break
        time.sleep(0.1)
    subprocess.run(["pactl", "set-default-source", "mic2"], check=True, env=env)
    return env


@pytest.fixture(scope="session")
def live_classifier():
    """The bundled event model (task 1-2), one torch thread (what the CLI and panel use)."""
    import torch

    from clinaudio_gui.engine.classifier.inference import Classifier
    torch.set_num_threads(1)
    model_dir = os.environ.get("CLINAUDIO_TEST_MODEL")  # only to test a candidate model
    clf = Classifier.load(model_dir, task=None if model_dir else "1-2", device="cpu")
    clf.predict(np.zeros(int(clf.window_s * clf.sample_rate_hz), np.float32), clf.sample_rate_hz)
    return clf
