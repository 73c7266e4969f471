"""Our images against the reference packages, on real recordings (issue #3 targets)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from clinaudio_gui.dsp import cwt_scalogram_db, gammatone_spectrogram_db, mel_spectrogram_db, stft_db


@pytest.mark.parametrize("settings", [
    dict(n_mels=64, n_fft=512, hop=128, f_min_hz=50.0, f_max_hz=4000.0),
    dict(n_mels=40, n_fft=256, hop=80, f_min_hz=0.0, f_max_hz=None),
])
def test_mel_equals_librosa_on_sprsound(spr_clips, settings):
    librosa = pytest.importorskip("librosa")
    for name, y, sr in spr_clips[:2]:
        img, t, f = mel_spectrogram_db(y, sample_rate_hz=sr, **settings)
        ref = librosa.power_to_db(librosa.feature.melspectrogram(
            y=y, sr=sr, n_fft=settings["n_fft"], hop_length=settings["hop"],
            n_mels=settings["n_mels"], fmin=settings["f_min_hz"], fmax=settings["f_max_hz"]),
            ref=1.0, amin=1e-10, top_db=None)
        assert img.shape == ref.shape and img.dtype == np.float32
        assert np.abs(img - ref).max() < 0.1, name
        np.testing.assert_allclose(t, librosa.frames_to_time(np.arange(ref.shape[1]), sr=sr,
                                                             hop_length=settings["hop"]))
        np.testing.assert_allclose(f, librosa.mel_frequencies(
            settings["n_mels"] + 2, fmin=settings["f_min_hz"],
            fmax=settings["f_max_hz"] or sr / 2)[1:-1], rtol=1e-6)


def test_mel_and_stft_equal_librosa_on_icbhi_44k(icbhi_clip):
    librosa = pytest.importorskip("librosa")
    _, y, sr = icbhi_clip
    img, _, _ = mel_spectrogram_db(y, sample_rate_hz=sr, n_mels=128, n_fft=2048, hop=512)
    ref = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048,
                                                             hop_length=512, n_mels=128),
                              ref=1.0, amin=1e-10, top_db=None)
    assert np.abs(img - ref).max() < 0.1
    img, _, f = stft_db(y, sample_rate_hz=sr, n_fft=1024, hop=256, top_db=80.0)
    ref = librosa.power_to_db(np.abs(librosa.stft(y, n_fft=1024, hop_length=256)) ** 2,
                              ref=1.0, amin=1e-10, top_db=80.0)
    assert np.abs(img - ref).max() < 0.1
    np.testing.assert_allclose(f, librosa.fft_frequencies(sr=sr, n_fft=1024))


def test_gammatone_correlates_with_gtgram(spr_clips):
    gtgram = pytest.importorskip("gammatone.gtgram").gtgram
    centre_freqs = pytest.importorskip("gammatone.filters").centre_freqs
    for name, y, sr in spr_clips:
        img, t, f = gammatone_spectrogram_db(y, sample_rate_hz=sr, n_bands=64, f_min_hz=50.0,
                                             f_max_hz=4000.0, window_s=0.025, hop_s=0.010)
        ref = gtgram(y.astype(np.float64), sr, 0.025, 0.010, 64, 50.0, 4000.0)
        ref_db = 20 * np.log10(np.maximum(ref, 1e-5))  # the same -100 dB floor as amin=1e-10
        assert img.shape == ref.shape, name
        r = np.corrcoef(img.ravel(), ref_db.ravel())[0, 1]
        assert r > 0.99, f"{name}: correlation {r:.4f}"
        np.testing.assert_allclose(f, centre_freqs(sr, 64, 50.0, 4000.0)[::-1])
        np.testing.assert_allclose(t, (np.arange(img.shape[1]) * 80 + 100) / sr)


@pytest.mark.parametrize("f0,window_s,tol_db", [
    (1000.0, 0.025, 0.5), (3000.0, 0.025, 0.1), (500.0, 0.100, 0.15), (2000.0, 0.100, 0.05)])
def test_gammatone_tone_reads_mean_power(f0, window_s, tol_db):
    """A unit sine at a band's centre reads 10*log10(0.5) = -3.01 dB, within the window's
    resolution (a 25 ms Hann window spreads a tone over ~80 Hz, wider than low ERB bands)."""
    sr = 8000
    t = np.arange(2 * sr) / sr
    img, _, f = gammatone_spectrogram_db(np.sin(2 * np.pi * f0 * t), sample_rate_hz=sr,
                                         n_bands=1, f_min_hz=f0, f_max_hz=f0 + 1e-6,
                                         window_s=window_s)
    assert f[0] == pytest.approx(f0)
    steady = img[0, 20:-20]
    assert np.ptp(steady) < 1e-3
    assert steady.mean() == pytest.approx(10 * np.log10(0.5), abs=tol_db)
    assert steady.mean() < 10 * np.log10(0.5) + 1e-3  # never above: the kernel only spreads


def test_gammatone_white_noise_level_is_unbiased():
    """For broadband input the FFT weighting is exact in expectation (Parseval): the mean band
    power of white noise equals sigma^2 * (equivalent noise bandwidth) / (sr / 2)."""
    from clinaudio_gui.dsp.spectral import gammatone_response
    rng = np.random.default_rng(3)
    sr = 8000
    y = rng.standard_normal(60 * sr).astype(np.float32)
    img, _, f = gammatone_spectrogram_db(y, sample_rate_hz=sr, n_bands=8, f_min_hz=50.0)
    fine = np.linspace(0, sr / 2, 200001)
    enbw = np.trapezoid(gammatone_response(f, sr, fine) ** 2, fine, axis=1)
    expected_db = 10 * np.log10(enbw / (sr / 2))
    np.testing.assert_allclose(10 * np.log10(np.mean(10 ** (img / 10), axis=1)), expected_db,
                               atol=0.15)


def _pywt_envelope_power(y, sr, freqs, hop, n_frames):
    """|analytic pywt 'morl' coefficients|^2 at our scales, each row calibrated by its own
    response to a unit sine (pywt's coefficients grow with sqrt(scale) and its sampled wavelet
    deviates at small scales), averaged over our frame boxes."""
    pywt = pytest.importorskip("pywt")
    scales = 5.0 * sr / (2 * np.pi * freqs)          # Fourier peak of exp(-t^2/2) cos(5t) at f
    coef, _ = pywt.cwt(y.astype(np.float64), scales, "morl", method="fft")
    tt = np.arange(int(0.5 * sr)) / sr
    gain = []
    for fi, a in zip(freqs, scales):
        c, _ = pywt.cwt(np.sin(2 * np.pi * fi * tt), [a], "morl", method="fft")
        gain.append(np.abs(scipy.signal.hilbert(c[0]))[len(tt) // 4:3 * len(tt) // 4].mean())
    env2 = (np.abs(scipy.signal.hilbert(coef, axis=1)) / np.array(gain)[:, None]) ** 2
    padded = np.pad(env2, ((0, 0), (hop // 2, n_frames * hop)))
    return padded[:, :n_frames * hop].reshape(len(freqs), n_frames, hop).mean(axis=2)


@pytest.mark.parametrize("which", ["spr", "icbhi"])
def test_cwt_magnitude_correlates_with_pywt(spr_clips, icbhi_clip, which):
    if which == "spr":
        _, y, sr = spr_clips[0]
        y = y[:4 * sr]
        f_max = 3200.0  # pywt's sampled "morl" is too coarse nearer Nyquist to be a reference
    else:
        _, y, sr = icbhi_clip
        y = y[:3 * sr]
        f_max = 4000.0
    img, t, f = cwt_scalogram_db(y, sample_rate_hz=sr, n_scales=64, f_min_hz=50.0,
                                 f_max_hz=f_max, hop_s=0.010)
    hop = int(round(0.010 * sr))
    assert img.shape == (64, 1 + len(y) // hop)
    np.testing.assert_allclose(f, np.geomspace(50.0, f_max, 64))
    np.testing.assert_allclose(t, np.arange(img.shape[1]) * hop / sr)
    ref = _pywt_envelope_power(y, sr, f, hop, img.shape[1])
    keep = slice(10, -10)  # the reference's Hilbert transform wraps around at the ends
    mag = np.sqrt(10 ** (img[:, keep] / 10))
    r = np.corrcoef(mag.ravel(), np.sqrt(ref[:, keep]).ravel())[0, 1]
    assert r > 0.99, f"magnitude correlation {r:.4f}"


@pytest.mark.parametrize("f0", [60.0, 440.0, 1500.0, 3000.0])
def test_cwt_tone_amplitude_reads_at_its_scale(f0):
    """Unit gain at each band's peak: a sine of amplitude 0.5 reads 20*log10(0.5) dB."""
    sr = 8000
    t = np.arange(3 * sr) / sr
    img, _, f = cwt_scalogram_db(0.5 * np.sin(2 * np.pi * f0 * t), sample_rate_hz=sr,
                                 n_scales=1, f_min_hz=f0, f_max_hz=f0 * 1.0001)
    np.testing.assert_allclose(img[0, 50:-50], 20 * np.log10(0.5), atol=0.02)
    assert img[0, 0] < img[0, 150] - 3  # the tone ramps in from the zero boundary
