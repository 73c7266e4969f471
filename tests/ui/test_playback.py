"""Playback of a real recording to the virtual speaker: what the sink's monitor records must
correlate with the file (after aligning the lag); the playhead moves over the views."""
from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

pytestmark = [pytest.mark.audio, pytest.mark.timeout(120)]

SINK_RATE = 16000


def _record_monitor(seconds_cap: float):
    return subprocess.Popen(["parec", "--device=vspk.monitor", "--raw", "--format=s16le",
                             f"--rate={SINK_RATE}", "--channels=1", "--latency-msec=20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _best_lag_corr(rec: np.ndarray, ref: np.ndarray) -> tuple[int, float]:
    n = len(rec) + len(ref)
    nfft = 1 << (n - 1).bit_length()
    xc = np.fft.irfft(np.fft.rfft(rec, nfft) * np.conj(np.fft.rfft(ref, nfft)), nfft)
    lag = int(np.argmax(xc[:len(rec)]))
    seg = rec[lag:lag + len(ref)]
    m = min(len(seg), len(ref))
    return lag, float(np.corrcoef(seg[:m], ref[:m])[0, 1])


def test_play_recording_to_virtual_speaker(pulse_server, qtbot, sprsound_copy):
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    win = QtMainWindow(load_panels=False)
    qtbot.addWidget(win)
    win.show()
    assert win.open_path(sprsound_copy)
    player = win.player
    assert player.available(), player.availability()
    assert "pulse" in player.output_devices()
    player.set_device("pulse")
    positions = []
    player.positionChanged.connect(positions.append)
    y, sr = sf.read(str(sprsound_copy), dtype="float32")
    start_s, end_s = 1.0, 6.0
    rec_proc = _record_monitor(10)
    time.sleep(0.4)
    try:
        with qtbot.waitSignal(player.stateChanged, timeout=5000, check_params_cb=lambda s: s == "playing"):
            win.timeline.set_cursor(start_s)
            player.play_recording(win.current_recording(), start_s=start_s, end_s=end_s)
        with qtbot.waitSignal(player.stateChanged, timeout=15000, check_params_cb=lambda s: s == "stopped"):
            pass
        time.sleep(0.4)
    finally:
        rec_proc.terminate()
        raw, _ = rec_proc.communicate(timeout=5)
    recorded = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    ref = resample_poly(y[int(start_s * sr):int(end_s * sr)], SINK_RATE, sr).astype(np.float32)
    assert len(recorded) > len(ref), f"recorded only {len(recorded) / SINK_RATE:.2f} s"
    lag, corr = _best_lag_corr(recorded, ref)
    assert corr > 0.9, f"correlation {corr:.3f} at lag {lag / SINK_RATE:.3f} s"
    # the playhead moved through the played range, monotonically
    assert positions, "no playhead updates"
    assert positions[0] < start_s + 1.0 and positions[-1] > end_s - 1.0
    assert all(b >= a - 1e-6 for a, b in zip(positions, positions[1:]))
    win.close()


def test_speed_change_keeps_pitch_and_changes_duration(pulse_server, qtbot, sprsound_copy):
    """2x speed: the selection plays in about half the time (librosa phase vocoder in the feeder)."""
    from clinaudio_gui.ui.qt_player import QtPlayer
    player = QtPlayer()
    player.set_device("pulse")
    player.set_speed(2.0)
    t = np.arange(int(3.0 * 8000)) / 8000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    rec_proc = _record_monitor(6)
    time.sleep(0.4)
    try:
        with qtbot.waitSignal(player.stateChanged, timeout=5000, check_params_cb=lambda s: s == "playing"):
            player.play_array(tone, 8000)
        t0 = time.monotonic()
        with qtbot.waitSignal(player.stateChanged, timeout=15000, check_params_cb=lambda s: s == "stopped"):
            pass
        elapsed = time.monotonic() - t0
        time.sleep(0.3)
    finally:
        rec_proc.terminate()
        raw, _ = rec_proc.communicate(timeout=5)
    recorded = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    loud = np.flatnonzero(np.abs(recorded) > 0.05)
    assert loud.size, "nothing reached the speaker"
    heard_s = (loud[-1] - loud[0]) / SINK_RATE
    assert 1.2 < heard_s < 1.8 and elapsed < 2.6, (heard_s, elapsed)
    # pitch kept: the dominant frequency is still 440 Hz
    seg = recorded[loud[0]:loud[-1]]
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    f_peak = np.fft.rfftfreq(len(seg), 1 / SINK_RATE)[np.argmax(spec)]
    assert abs(f_peak - 440) < 10, f_peak
    player.shutdown()


def test_window_works_without_audio_output(qtbot, sprsound_copy, monkeypatch):
    """PortAudio missing (import sounddevice raises OSError): the window opens and says so."""
    import builtins
    real_import = builtins.__import__

    def no_portaudio(name, *a, **k):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    win = QtMainWindow(load_panels=False)
    qtbot.addWidget(win)
    win.show()
    assert "PortAudio" in win.audio_label.text()
    assert win.open_path(sprsound_copy)
    win.toggle_play()                       # no crash, a message instead
    assert not win.player.is_playing()
    assert "unavailable" in win.statusBar().currentMessage()
    win.close()
