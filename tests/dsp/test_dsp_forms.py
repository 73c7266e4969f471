"""Streaming == offline, tiles == whole image, pyramid == brute force, torch == numpy, errors."""
from __future__ import annotations

import numpy as np
import pytest

from clinaudio_gui.dsp import (StreamingSpectrogram, WaveformPyramid, cwt_scalogram_db,
                               gammatone_spectrogram_db, mel_spectrogram_db, spectrogram_tile,
                               stft_db, valid_audio)

FUNCS = {"stft": stft_db, "mel": mel_spectrogram_db, "gammatone": gammatone_spectrogram_db,
         "cwt": cwt_scalogram_db}
CASES = [
    ("stft", dict(n_fft=256, hop=64)),
    ("stft", dict(n_fft=256, hop=100, center=False, win_length=200)),
    ("mel", dict(n_mels=40, n_fft=512, hop=128, f_min_hz=50.0, f_max_hz=4000.0)),
    ("gammatone", dict(n_bands=32)),
    ("gammatone", dict(n_bands=32, center=True, filter_delay=False, window_s=0.032)),
    ("cwt", dict(n_scales=32)),
    ("cwt", dict(n_scales=24, f_min_hz=100.0, f_max_hz=2000.0, hop_s=0.005)),
]
# dB tolerance for cells within 60 dB of the image maximum (float32 rounding; the CWT's
# ranges also differ by the e^-18 wavelet tails beyond their context); cells 60-80 dB down,
# where float32 FFT rounding is a larger share, get 10x that; below -80 dB (float32's FFT
# noise floor is near -110 dB) only finiteness is checked.
TOL_DB = {"stft": 1e-3, "mel": 1e-3, "gammatone": 1e-3, "cwt": 2e-3}


def assert_db_close(got, ref, tol_db):
    assert got.shape == ref.shape
    err = np.abs(got - ref)
    loud = ref > ref.max() - 60
    assert err[loud].max() < tol_db, f"max error {err[loud].max():.2e} dB in loud cells"
    fair = ref > ref.max() - 80
    assert err[fair].max() < 10 * tol_db, f"max error {err[fair].max():.2e} dB"
    assert np.isfinite(got).all()


@pytest.mark.parametrize("kind,settings", CASES)
def test_streaming_equals_offline(spr_clips, kind, settings):
    _, y, sr = spr_clips[2]
    y = y[:int(3.3 * sr)]
    off, t, f = FUNCS[kind](y, sample_rate_hz=sr, **settings)
    stream = StreamingSpectrogram(kind, sample_rate_hz=sr, **settings)
    np.testing.assert_array_equal(stream.freqs_hz, f)
    rng = np.random.default_rng(7)
    parts, times, i = [], [], 0
    while i < len(y):
        n = int(rng.choice([1, 7, 80, 333, 1024, 2500]))
        img, tt = stream.push(y[i:i + n])
        assert img.shape[1] == len(tt)
        parts.append(img)
        times.append(tt)
        i += n
    img, tt = stream.flush()
    parts.append(img)
    times.append(tt)
    got = np.concatenate(parts, axis=1)
    np.testing.assert_allclose(np.concatenate(times), t, rtol=0, atol=1e-12)
    assert_db_close(got, off, TOL_DB[kind])
    with pytest.raises(ValueError, match="flushed"):
        stream.push(y[:10])


def test_streaming_emits_frames_as_soon_as_complete():
    sr = 8000
    s = StreamingSpectrogram("stft", sample_rate_hz=sr, n_fft=256, hop=64, center=False)
    assert s.push(np.zeros(255, np.float32))[0].shape[1] == 0
    assert s.push(np.zeros(1, np.float32))[0].shape[1] == 1      # first frame: 256 samples
    assert s.push(np.zeros(64 * 3, np.float32))[0].shape[1] == 3
    c = StreamingSpectrogram("cwt", sample_rate_hz=sr, n_scales=8, f_min_hz=100.0)
    got = c.push(np.zeros(sr, np.float32))[0].shape[1]
    hop, ctx = c.spec.hop, c.spec.context
    assert got == (sr + hop // 2) // hop - ctx                    # waits for its context only


@pytest.mark.parametrize("kind,settings", [CASES[0], CASES[2], CASES[3], CASES[5]])
def test_tiles_equal_whole_image(icbhi_clip, kind, settings):
    from clinaudio_gui.io import open_audio
    path, y, sr = icbhi_clip
    rec = open_audio(path)
    whole, t, f = FUNCS[kind](y, sample_rate_hz=sr, **settings)
    for start_s, end_s in [(0.0, 0.7), (0.7, 2.35), (12.0, 13.5), (19.2, 25.0)]:
        img, tt, ff = spectrogram_tile(rec, kind, start_s, end_s, **settings)
        np.testing.assert_array_equal(ff, f)
        sel = (t >= start_s - 1e-9) & (t <= end_s + 1e-9)
        np.testing.assert_allclose(tt, t[sel], atol=1e-12)
        assert img.shape[1] == sel.sum() > 0
        assert_db_close(img, whole[:, sel], TOL_DB[kind])
    # an array source works the same way
    img, tt, _ = spectrogram_tile(y, kind, 3.0, 4.0, sample_rate_hz=sr, **settings)
    sel = (t >= 3.0 - 1e-9) & (t <= 4.0 + 1e-9)
    assert_db_close(img, whole[:, sel], TOL_DB[kind])


def test_pyramid_envelopes_equal_brute_force(icbhi_clip):
    from clinaudio_gui.io import open_audio
    path, y, sr = icbhi_clip
    reads = []
    rec = open_audio(path)
    real_read = rec.read

    def counting_read(start_s=0.0, end_s=None, **kw):
        out = real_read(start_s, end_s, **kw)
        reads.append(len(out))
        return out
    rec.read = counting_read
    pyr = WaveformPyramid(rec, block_samples=1 << 16)
    assert max(reads) <= 1 << 16                       # built block-wise, never all at once
    assert pyr.bin_samples[:3] == [64, 256, 1024]
    seen_levels = set()
    for a, b, n in [(0, 20, 800), (0, 20, 37), (3.2, 3.21, 300), (5, 5.05, 500),
                    (1.234, 7.89, 1000), (19.9, 30, 64), (0, 1e6, 1500)]:
        t, mins, maxs = pyr.envelope(a, b, n)
        edges = pyr.pixel_edges(a, b, n)
        k = pyr.level_for((edges[-1] - edges[0]) / (len(edges) - 1))
        seen_levels.add(k)
        size = 1 if k < 0 else pyr.bin_samples[k]
        lo = (edges[:-1] // size) * size
        hi = np.minimum(len(y), -(-edges[1:] // size) * size)
        np.testing.assert_array_equal(mins, [y[i:j].min() for i, j in zip(lo, hi)])
        np.testing.assert_array_equal(maxs, [y[i:j].max() for i, j in zip(lo, hi)])
        np.testing.assert_allclose(t, (edges[:-1] + edges[1:]) / 2 / sr)
        assert (hi - lo <= 3 * np.diff(edges)).all()    # widened by less than a pixel per side
    assert -1 in seen_levels and len(seen_levels) >= 3
    assert pyr.nbytes < y.nbytes / 20


def test_torch_forms_equal_numpy(spr_clips):
    torch = pytest.importorskip("torch")
    from clinaudio_gui.engine.common.features import torch_feature
    torch.set_num_threads(1)
    sr = 8000
    ys = [y[:3 * sr] for _, y, _ in spr_clips[:3]]
    x = torch.from_numpy(np.stack(ys))
    for kind, settings in [CASES[0], CASES[2], CASES[3], CASES[4], CASES[5]]:
        mod = torch_feature(kind, sample_rate_hz=sr, **settings)
        got = mod(x).numpy()
        ref = np.stack([FUNCS[kind](y, sample_rate_hz=sr, **settings)[0] for y in ys])
        assert got.shape == ref.shape, kind
        assert_db_close(got, ref, 0.01)  # torch's and scipy's float32 FFTs round differently
        np.testing.assert_allclose(mod.times_s(len(ys[0])),
                                   FUNCS[kind](ys[0], sample_rate_hz=sr, **settings)[1])
        np.testing.assert_array_equal(mod.freqs_hz, FUNCS[kind](ys[0], sample_rate_hz=sr,
                                                                 **settings)[2])


@pytest.mark.parametrize("call,message", [
    (lambda y: stft_db(y, sample_rate_hz=8000, n_fft=256, hop=0), "hop=0 must be a positive integer"),
    (lambda y: stft_db(y, sample_rate_hz=8000, n_fft=256.5, hop=64), "n_fft=256.5 must be a positive integer"),
    (lambda y: stft_db(y, sample_rate_hz=-1, n_fft=256, hop=64), "sample_rate_hz=-1 must be a positive number"),
    (lambda y: stft_db(y, sample_rate_hz=8000, n_fft=256, hop=64, window="kaiserx"), "window='kaiserx'"),
    (lambda y: mel_spectrogram_db(y, sample_rate_hz=8000, n_mels=0), "n_mels=0"),
    (lambda y: mel_spectrogram_db(y, sample_rate_hz=8000, f_max_hz=5000.0), "f_max_hz=5000.0 is above the Nyquist"),
    (lambda y: mel_spectrogram_db(y, sample_rate_hz=8000, f_min_hz=3000.0, f_max_hz=2000.0), "f_min_hz=3000.0 must be below"),
    (lambda y: gammatone_spectrogram_db(y, sample_rate_hz=8000, window_s=0.0), "window_s=0.0 must be a positive number"),
    (lambda y: gammatone_spectrogram_db(y, sample_rate_hz=8000, hop_s="10ms"), "hop_s='10ms'"),
    (lambda y: gammatone_spectrogram_db(y, sample_rate_hz=8000, f_min_hz=0.0), "f_min_hz=0.0 must be a positive"),
    (lambda y: cwt_scalogram_db(y, sample_rate_hz=8000, wavelet="mexh"), "wavelet='mexh' is not supported"),
    (lambda y: cwt_scalogram_db(y, sample_rate_hz=8000, n_scales=True), "n_scales=True must be a positive integer"),
    (lambda y: StreamingSpectrogram("wavelet", sample_rate_hz=8000), "kind='wavelet' is not one of"),
    (lambda y: StreamingSpectrogram("mel", sample_rate_hz=8000, hop_length=3), "unexpected keyword"),
    (lambda y: spectrogram_tile(y, "mel", 2.0, 1.0, sample_rate_hz=8000), "end_s=1.0 must be a finite time after start_s=2.0"),
    (lambda y: spectrogram_tile(y, "mel", 0.0, 1.0), "sample_rate_hz is required"),
    (lambda y: WaveformPyramid(y, sample_rate_hz=8000, factor=1), "factor=1 must be at least 2"),
])
def test_bad_arguments_repeat_the_value(call, message):
    y = np.zeros(8000, np.float32)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        call(y)


@pytest.mark.parametrize("bad,message", [
    (np.zeros((2, 100)), r"shape \(2, 100\); expected mono 1-D"),
    (np.zeros(0), "empty"),
    (np.array([0.0, np.nan, 1.0]), r"y\[1\]=nan is not finite"),
    (np.array(["a", "b"]), "dtype <U1"),
    ("file.wav", "must be a 1-D array"),
])
def test_valid_audio_rejects(bad, message):
    with pytest.raises(ValueError, match=message):
        valid_audio(bad)
    with pytest.raises(ValueError, match=message.replace("y", "y") if message != "must be a 1-D array" else message):
        mel_spectrogram_db(bad, sample_rate_hz=8000)


def test_valid_audio_accepts_ints_and_returns_float32():
    out = valid_audio(np.array([0, 1, -2], dtype=np.int16))
    assert out.dtype == np.float32 and out.flags.c_contiguous


@pytest.mark.parametrize("kind", ["stft", "mel", "gammatone", "cwt"])
def test_inputs_shorter_than_a_frame_give_empty_or_edge_images(kind):
    """No crash on tiny inputs: a frame count of 0 (uncentred) or the padded frames only."""
    y = np.random.default_rng(0).standard_normal(100).astype(np.float32)
    img, t, f = FUNCS[kind](y, sample_rate_hz=8000, top_db=80.0)
    assert img.shape == (len(f), len(t)) and img.dtype == np.float32
    assert np.isfinite(img).all()
    stream = StreamingSpectrogram(kind, sample_rate_hz=8000)
    a, _ = stream.push(y)
    b, _ = stream.flush()
    assert a.shape[1] + b.shape[1] == img.shape[1]
