"""The display consumer (no Qt, no device): rolling spectrogram == offline image, level meter."""
from __future__ import annotations

import numpy as np

from clinaudio_gui.dsp import stft_db
from clinaudio_gui.io import read_audio
from clinaudio_gui.live import RingBuffer, StreamingResampler
from clinaudio_gui.live.display import FLOOR_DB, LevelMeter, LiveDisplay, RollingSpectrogram


def _first_recording(sprsound_dir):
    return sorted(sprsound_dir.glob("*.flac"))[0]


def test_rolling_spectrogram_equals_offline_image(sprsound_dir):
    y, sr = read_audio(_first_recording(sprsound_dir), end_s=6.0)
    roll = RollingSpectrogram(sample_rate_hz=sr, n_fft=256, hop=64, history_s=2.0)
    rng = np.random.default_rng(1)
    i = 0
    while i < len(y):  # irregular blocks, as a timer would deliver them
        n = int(rng.integers(1, 900))
        roll.push(y[i:i + n])
        i += n
    ref, _, _ = stft_db(y, sample_rate_hz=sr, n_fft=256, hop=64)
    n_done = roll.frames_done
    # a centred frame is emitted once its samples are in: all but the last half-window
    assert ref.shape[1] - 3 <= n_done <= ref.shape[1]
    want = np.maximum(ref[:, n_done - roll.n_cols:n_done], FLOOR_DB)
    np.testing.assert_allclose(roll.image(), want, atol=1e-3)


def test_level_meter_peak_rms_and_clip_hold(sprsound_dir):
    y, _ = read_audio(_first_recording(sprsound_dir), end_s=1.0)
    m = LevelMeter()
    m.update(y, now=100.0)
    assert abs(m.peak_db - 20 * np.log10(np.abs(y).max())) < 1e-3
    assert m.rms_db < m.peak_db and not m.clipping(now=100.0)
    loud = np.clip(y / np.abs(y).max() * 2.0, -1.0, 1.0)  # a gain that drives it into clipping
    m.update(loud, now=101.0)
    assert m.clipped_samples > 0 and m.clipping(now=101.5) and not m.clipping(now=103.5)


def test_live_display_reads_only_new_audio(sprsound_dir):
    """A capture-rate ring (44.1 kHz, as a sound card gives) shown at 8 kHz."""
    y, sr = read_audio(_first_recording(sprsound_dir), end_s=3.0)
    up = StreamingResampler(orig_sr=sr, target_sr=44100).process(y)
    ring = RingBuffer(44100 * 5)
    disp = LiveDisplay(ring.reader(), capture_rate_hz=44100, display_rate_hz=sr, history_s=4.0)
    assert disp.update() == 0
    for i in range(0, len(up), 882):  # 20 ms blocks
        ring.write(up[i:i + 882])
        disp.update()
    t, v = disp.waveform_envelope(n_points=400)
    assert len(t) == len(v) and t.max() <= 0 and t.min() >= -4.0
    assert abs(float(v.max()) - float(y.max())) < 0.05 * float(np.abs(y).max())
    assert disp.spectrogram.frames_done > 0 and disp.overruns == 0
