"""A/B audition through a real (virtual) sound card: the PulseAudio fixture's speaker."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

pytestmark = [pytest.mark.audio, pytest.mark.timeout(120)]


def _dominant_hz(block: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(block * np.hanning(len(block))))
    return float(np.fft.rfftfreq(len(block), 1 / sr)[spec.argmax()])


def test_ab_switch_plays_original_then_augmented(pulse_server, qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "cfg"))
    if shutil.which("parec") is None:
        pytest.fail("parec (pulseaudio-utils) is needed for the audio test")
    from clinaudio_gui.ui.qt_augment_panel import QtAugmentPanel
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    sr = 8000
    t = np.arange(8 * sr) / sr
    wav = tmp_path / "tone.wav"
    sf.write(wav, (0.4 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32), sr, subtype="PCM_16")
    w = QtMainWindow(load_panels=False)
    qtbot.addWidget(w)
    panel = QtAugmentPanel(w)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(w.recordingChanged, timeout=10000):
        assert w.open_path(wav)
    qtbot.waitUntil(lambda: panel.original is not None, timeout=5000)
    panel.set_enabled(["PitchShift"])
    panel._setting_changed("PitchShift", "max_semitones", 12.0)
    panel.select_transform("PitchShift")
    panel.set_slider_value(12.0)                    # one octave up: B is an 880 Hz tone
    panel.recompute_now()
    assert abs(_dominant_hz(panel.augmented[sr:3 * sr], sr) - 880.0) < 3.0

    raw = tmp_path / "speaker.raw"          # a file, not a pipe: a full 64 KB pipe would stall parec
    sink = open(raw, "wb")
    rec = subprocess.Popen(["parec", "--device=vspk.monitor", "--raw", "--format=s16le", "--rate=16000",
                            "--channels=1", "--latency-msec=50"], stdout=sink)
    try:
        qtbot.wait(1000)                            # the sound server can take a while to start parec's stream
        panel.ab_a.setChecked(True)
        panel.toggle_play()                         # A: the original
        assert panel._playing
        qtbot.wait(2500)
        pos_before = panel.current_position_s()
        panel.ab_b.setChecked(True)                 # switch to B while playing, same position
        assert panel.current_position_s() == pytest.approx(pos_before, abs=0.05)   # same length: same time
        qtbot.wait(2500)
        panel.toggle_play()
        qtbot.wait(300)
    finally:
        rec.terminate()
        rec.wait(timeout=10)
        sink.close()
    y = np.frombuffer(raw.read_bytes(), dtype="<i2").astype(np.float32) / 32768.0
    assert len(y) > 16000 * 3                # about 5-6 s were recorded (parec's own start-up varies)
    block = 16000 // 4
    freqs = [(_dominant_hz(y[i:i + block], 16000), float(np.std(y[i:i + block])))
             for i in range(0, len(y) - block, block)]
    heard = [round(f) for f, level in freqs if level > 0.05]
    a_idx = [i for i, f in enumerate(heard) if abs(f - 440) < 10]
    b_idx = [i for i, f in enumerate(heard) if abs(f - 880) < 10]
    assert len(a_idx) >= 3 and len(b_idx) >= 3, (heard, [(round(f), round(v, 3)) for f, v in freqs], len(y))
    assert max(a_idx) < min(b_idx) + 2, heard           # the original first, then the augmented
    panel.close()
    w.close()
