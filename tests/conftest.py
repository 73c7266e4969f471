"""Shared fixtures: offscreen Qt, paths to the real data, a private PulseAudio server."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CLINAUDIO_SHARED_DATA", REPO.parent / "shared" / "data"))
SPRSOUND_TRAIN = SHARED_DATA / "sprsound" / "train"
ICBHI_SAMPLE = SHARED_DATA / "icbhi-sample"
ESC10 = SHARED_DATA / "esc10"
EXAMPLES = REPO / "resources" / "examples"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"shared data missing: {path} (the checkout needs ../shared/data beside it)")
    return path


@pytest.fixture(scope="session")
def sprsound_dir() -> Path:
    return _need(SPRSOUND_TRAIN)


@pytest.fixture(scope="session")
def icbhi_dir() -> Path:
    return _need(ICBHI_SAMPLE)


@pytest.fixture(scope="session")
def esc10_dir() -> Path:
    return _need(ESC10)


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture
def isolated_qsettings(tmp_path_factory, monkeypatch):
    """Each Qt test gets its own QSettings store (recent files, theme, devices), never the user's."""
    from PySide6.QtCore import QSettings
    d = tmp_path_factory.mktemp("qsettings")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(d))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(d))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(d))
    yield d


@pytest.fixture(scope="session")
def pulse_server():
    """A private PulseAudio daemon with a virtual speaker (vspk) and microphone (vmic).

    Yields a dict with the runtime dir. Play into the mic with
    ``paplay --device=vmic_feed FILE``; record the speaker from ``vspk.monitor``.
    """
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
        pytest.fail("pulseaudio / pactl not installed (make test installs them with apt-get)")
    runtime = tempfile.mkdtemp(prefix="clinaudio-pulse-")
    os.chmod(runtime, 0o700)
    old = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "PULSE_SERVER", "PULSE_RUNTIME_PATH")}
    os.environ["XDG_RUNTIME_DIR"] = runtime
    os.environ.pop("PULSE_SERVER", None)
    os.environ["PULSE_RUNTIME_PATH"] = os.path.join(runtime, "pulse")
    subprocess.run(["pulseaudio", "--kill"], capture_output=True)
    cmd = ["pulseaudio", "--daemonize=yes", "-n", "--exit-idle-time=-1", "--disallow-exit",
           "-L", "module-native-protocol-unix",
           "-L", "module-null-sink sink_name=vspk rate=16000 channels=1",
           "-L", "module-null-sink sink_name=vmic_feed rate=16000 channels=1",
           "-L", "module-remap-source master=vmic_feed.monitor source_name=vmic"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"could not start pulseaudio: {r.stderr.strip()}")
    for _ in range(50):
        if subprocess.run(["pactl", "info"], capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    subprocess.run(["pactl", "set-default-source", "vmic"], check=True)
    subprocess.run(["pactl", "set-default-sink", "vspk"], check=True)
    try:  # sounddevice may have been imported before the daemon existed: re-scan
        import sounddevice as sd
        sd._terminate()
        sd._initialize()
    except Exception:
        pass
    yield {"runtime_dir": runtime, "mic_feed": "vmic_feed", "mic": "vmic", "speaker": "vspk"}
    subprocess.run(["pulseaudio", "--kill"], capture_output=True)
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    shutil.rmtree(runtime, ignore_errors=True)
