"""Every transform: determinism, bit-identical frozen apply, JSON + pickle round trips,
ValueError on bad settings, and the effect each one promises, on real recordings."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import clinaudio_gui.augment as A
from clinaudio_gui.augment.base import REGISTRY, SPECTROGRAM, transform_from_dict

LEAVES = sorted(n for n in REGISTRY if n not in ("Compose", "OneOf"))


def _make(name, esc10_dir=None):
    cls = REGISTRY[name]
    if name == "AddNoise":
        return cls(color="pink")
    return cls()


@pytest.fixture(scope="module")
def rain_path(esc10_dir):
    return sorted((esc10_dir / "002 - Rain").glob("*.ogg"))[0]


def _input(t, clip, image):
    return (image, 0) if t.domain == SPECTROGRAM else clip


@pytest.mark.parametrize("name", LEAVES)
def test_determinism_frozen_and_round_trips(name, clip, image, labeled_flacs):
    t = _make(name)
    if name == "MixSameClass":
        t = A.MixSameClass(partner_paths=[str(p) for p in labeled_flacs[1:]])
    x, sr = _input(t, clip, image)
    x = x[: 3 * sr] if t.domain != SPECTROGRAM else x
    x_before = x.copy()
    p1 = t.randomize(np.random.default_rng(7))
    p2 = t.randomize(np.random.default_rng(7))
    assert p1 == p2                                   # same seed, same draw
    assert json.loads(json.dumps(p1)) == p1           # params are JSON
    y1 = t.apply(x, sr, p1)
    y2 = t.apply(x, sr, p1)
    assert y1.dtype == np.float32
    assert np.array_equal(y1, y2)                      # frozen apply: bit-identical
    assert np.array_equal(x, x_before)                 # input untouched
    # JSON round trip gives an equal transform that applies identically
    t_json = transform_from_dict(json.loads(json.dumps(t.to_dict())))
    assert t_json == t and type(t_json) is type(t)
    assert np.array_equal(t_json.apply(x, sr, p1), y1)
    # pickle round trip
    t_pkl = pickle.loads(pickle.dumps(t))
    assert t_pkl == t
    assert np.array_equal(t_pkl.apply(x, sr, json.loads(json.dumps(p1))), y1)
    # another seed draws differently (where there is anything to draw)
    if p1:
        draws = [t.randomize(np.random.default_rng(s)) for s in range(1, 6)]
        assert any(d != p1 for d in draws)


def test_randomize_requires_a_generator():
    with pytest.raises(ValueError, match="Generator"):
        A.Gain().randomize(42)
    with pytest.raises(ValueError, match="Generator"):
        A.Gain().randomize(np.random.RandomState(0))


BAD = [
    (A.TimeShift, {"max_shift_s": -1.0}, "-1.0"),
    (A.TimeShift, {"min_shift_s": 2.0, "max_shift_s": 1.0}, "2.0"),
    (A.TimeShift, {"direction": "up"}, "'up'"),
    (A.PitchShift, {"min_semitones": 3.0, "max_semitones": 1.0}, "3.0"),
    (A.PitchShift, {"max_semitones": float("nan")}, "nan"),
    (A.TimeStretch, {"min_rate": 0.0}, "0.0"),
    (A.TimeStretch, {"rates": [0.7, -1.2]}, "-1.2"),
    (A.TimeStretch, {"rates": "fast"}, "'fast'"),
    (A.TrimSilence, {"threshold_db": 5.0}, "5.0"),
    (A.AddNoise, {"color": "purple"}, "'purple'"),
    (A.AddNoise, {"color": "background"}, "background_paths"),
    (A.AddNoise, {"min_snr_db": "10"}, "'10'"),
    (A.Gain, {"min_gain_db": 10.0, "max_gain_db": 0.0}, "10.0"),
    (A.LowPassFilter, {"order": 2.5}, "2.5"),
    (A.BandPassFilter, {"max_low_hz": 2000.0, "min_high_hz": 1000.0}, "2000.0"),
    (A.MixSameClass, {"max_weight": 1.5}, "1.5"),
    (A.SpecAffine, {"max_rotation_deg": -5.0}, "-5.0"),
    (A.SpecZoom, {"fill_mode": "mirror"}, "'mirror'"),
    (A.Brightness, {"min_factor": 2.0, "max_factor": 1.0}, "2.0"),
    (A.TimeMask, {"n_masks": -1}, "-1"),
    (A.FreqMask, {"fill": "max"}, "'max'"),
    (A.Gain, {"gain": 3.0}, "gain"),
    (A.Gain, {"p": 1.5}, "1.5"),
]


@pytest.mark.parametrize("cls,kw,shown", BAD, ids=[f"{c.__name__}-{next(iter(k))}" for c, k, _ in BAD])
def test_bad_settings_raise_value_error_repeating_the_value(cls, kw, shown):
    with pytest.raises(ValueError) as e:
        cls(**kw)
    assert shown in str(e.value)


def test_every_transform_declares_units_and_is_listed():
    listed = {d["name"]: d for d in A.describe_transforms()}
    assert set(listed) == set(REGISTRY)
    for name in LEAVES:
        for q in listed[name]["params"]:
            if q["kind"] in ("float", "list") and q["name"] not in ("p",):
                assert q["unit"], f"{name}.{q['name']} has no unit"


# ---- effects -------------------------------------------------------------------------

def _snr_db(clean, noisy):
    n = noisy.astype(np.float64) - clean
    return 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(n ** 2))


@pytest.mark.parametrize("color", ["white", "pink", "brown", "background"])
def test_add_noise_hits_the_target_snr(color, clip, rain_path):
    y, sr = clip
    kw = {"background_paths": [str(rain_path)]} if color == "background" else {}
    t = A.AddNoise(min_snr_db=5.0, max_snr_db=25.0, color=color, **kw)
    for seed in range(3):
        p = t.randomize(np.random.default_rng(seed))
        out = t.apply(y, sr, p)
        assert abs(_snr_db(y, out) - p["snr_db"]) < 0.5


def test_noise_colors_have_their_spectral_slopes():
    n = 2 ** 16
    slopes = {}
    for color in ("white", "pink", "brown"):
        x = A.colored_noise(n, color=color, seed=3).astype(np.float64)
        psd = np.abs(np.fft.rfft(x)) ** 2
        f = np.arange(len(psd))
        band = (f > 100) & (f < n // 4)
        # mean power per octave-wide bin group, fitted on log-log axes
        slopes[color] = np.polyfit(np.log10(f[band]), np.log10(psd[band] + 1e-30), 1)[0]
    assert abs(slopes["white"]) < 0.1
    assert abs(slopes["pink"] + 1) < 0.1
    assert abs(slopes["brown"] + 2) < 0.1


def _tone(freq_hz, sr=8000, dur_s=2.0):
    t = np.arange(int(sr * dur_s)) / sr
    return (0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def _peak_hz(x, sr):
    x = x[len(x) // 8: -len(x) // 8]
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=8 * len(x)))
    return np.fft.rfftfreq(8 * len(x), 1 / sr)[spec.argmax()]


@pytest.mark.parametrize("semitones", [-3.0, -1.0, 2.0, 4.0])
def test_pitch_shift_moves_a_tone_by_the_right_ratio(semitones):
    sr = 8000
    y = _tone(440.0, sr)
    t = A.PitchShift(min_semitones=semitones, max_semitones=semitones)
    out = t.apply(y, sr, t.randomize(np.random.default_rng(0)))
    assert len(out) == len(y)
    ratio = _peak_hz(out, sr) / 440.0
    assert abs(ratio / 2 ** (semitones / 12) - 1) < 0.005


@pytest.mark.parametrize("rate", [0.7, 1.2, 0.85])
def test_time_stretch_length_and_pitch(rate):
    sr = 8000
    y = _tone(300.0, sr)
    t = A.TimeStretch(min_rate=rate, max_rate=rate)
    out = t.apply(y, sr, {"rate": rate})
    assert len(out) == round(len(y) / rate)
    assert abs(_peak_hz(out, sr) - 300.0) < 2.0
    # level kept within 2 dB in the steady part
    core = out[len(out) // 4: -len(out) // 4]
    assert abs(20 * np.log10(np.sqrt(np.mean(core ** 2)) / np.sqrt(np.mean(y ** 2)))) < 2.0


@pytest.mark.parametrize("n,rate", [(10624, 0.7), (10600, 0.7), (7000, 1.2), (1, 0.7), (2, 1.2)])
def test_time_stretch_float_step_end(n, rate):
    # 10624 samples at 8 kHz give 85 STFT frames; np.arange(0, 84, 0.7) ends on 84.0 through
    # rounding, which once indexed frame 85 (IndexError in the study's naa strategy)
    y = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    out = A.TimeStretch(min_rate=rate, max_rate=rate).apply(y, 8000, {"rate": rate})
    assert len(out) == round(n / rate)
    assert np.all(np.isfinite(out))


def test_time_stretch_presets_and_rate_sets():
    assert A.TimeStretch.preset("slow").randomize(np.random.default_rng(0)) == {"rate": 0.7}
    assert A.TimeStretch.preset("fast").randomize(np.random.default_rng(0)) == {"rate": 1.2}
    t = A.TimeStretch(rates=[0.7, 1.2])
    seen = {t.randomize(np.random.default_rng(s))["rate"] for s in range(20)}
    assert seen == {0.7, 1.2}
    with pytest.raises(ValueError, match="'medium'"):
        A.TimeStretch.preset("medium")


@pytest.mark.parametrize("direction,sign", [("left", -1), ("right", 1)])
def test_time_shift_zero_fill(direction, sign, clip):
    y, sr = clip
    t = A.TimeShift(min_shift_s=0.25, max_shift_s=0.25, direction=direction)
    p = t.randomize(np.random.default_rng(0))
    assert p["shift_s"] == sign * 0.25
    out = t.apply(y, sr, p)
    n = int(0.25 * sr)
    assert len(out) == len(y)
    if sign > 0:
        assert not out[:n].any() and np.array_equal(out[n:], y[:-n])
    else:
        assert not out[-n:].any() and np.array_equal(out[:-n], y[n:])


def test_time_shift_both_directions_occur():
    t = A.TimeShift(min_shift_s=0.1, max_shift_s=0.2)
    signs = {np.sign(t.randomize(np.random.default_rng(s))["shift_s"]) for s in range(20)}
    assert signs == {-1.0, 1.0}


def test_gain_polarity(clip):
    y, sr = clip
    g = A.Gain(min_gain_db=-6.0, max_gain_db=-6.0)
    out = g.apply(y, sr, g.randomize(np.random.default_rng(0)))
    assert np.allclose(out, y * 10 ** (-6 / 20), rtol=1e-6, atol=0)
    assert np.array_equal(A.PolarityInversion().apply(y, sr, {}), -y)


def test_trim_silence_cuts_padding_and_keeps_margin():
    sr = 8000
    core = _tone(300.0, sr, 2.0)
    padded = np.concatenate([np.zeros(sr, np.float32), core, np.zeros(sr // 2, np.float32)])
    t = A.TrimSilence(threshold_db=-40.0, margin_s=0.05)
    out = t.apply(padded, sr, {})
    assert len(core) + int(0.1 * sr) - int(0.02 * sr) <= len(out) <= len(core) + int(0.1 * sr) + int(0.02 * sr)
    a, b = t.bounds(padded, sr)
    assert abs(a - (sr - int(0.05 * sr))) <= int(0.02 * sr)
    assert abs(b - (sr + len(core) + int(0.05 * sr))) <= int(0.02 * sr)
    # without the padding there is nothing to cut
    assert t.apply(padded[sr:-sr // 2], sr, {}).size >= len(core) - int(0.02 * sr)


@pytest.mark.parametrize("cls,kw,band", [
    (A.LowPassFilter, {"min_cutoff_hz": 500.0, "max_cutoff_hz": 500.0}, "low"),
    (A.HighPassFilter, {"min_cutoff_hz": 1500.0, "max_cutoff_hz": 1500.0}, "high"),
    (A.BandPassFilter, {"min_low_hz": 800.0, "max_low_hz": 800.0, "min_high_hz": 1200.0, "max_high_hz": 1200.0},
     "mid"),
])
def test_filters_pass_and_stop(cls, kw, band):
    sr = 8000
    lo, mid, hi = _tone(200.0, sr), _tone(1000.0, sr), _tone(3000.0, sr)
    t = cls(**kw)
    p = t.randomize(np.random.default_rng(0))
    gain = {k: 20 * np.log10(np.std(t.apply(v, sr, p)[sr // 4:-sr // 4]) / np.std(v))
            for k, v in (("low", lo), ("mid", mid), ("high", hi))}
    for k, g in gain.items():
        if k == band:
            assert g > -1.0, gain
        else:
            assert g < -20.0, gain


def test_filter_cutoff_above_nyquist_names_the_value():
    t = A.LowPassFilter(min_cutoff_hz=5000.0, max_cutoff_hz=5000.0)
    with pytest.raises(ValueError, match="5000.0"):
        t.apply(_tone(100.0), 8000, {"cutoff_hz": 5000.0})


def test_mix_same_class_mixes_the_drawn_partner(clip, labeled_flacs):
    from clinaudio_gui.io import read_audio
    y, sr = clip
    partner = str(labeled_flacs[1])
    t = A.MixSameClass(min_weight=0.3, max_weight=0.3, partner_paths=[partner, str(labeled_flacs[0])])
    p = t.randomize(np.random.default_rng(0), {"source_path": str(labeled_flacs[0])})
    assert p["partner_path"] == partner          # never mixes a recording with itself
    out = t.apply(y, sr, p)
    other, _ = read_audio(partner)
    start = int(p["offset_fraction"] * len(other))
    seg = np.tile(other, 3)[start:start + len(y)].astype(np.float64)
    seg *= np.sqrt(np.mean(y.astype(np.float64) ** 2) / np.mean(seg ** 2))
    assert np.allclose(out, 0.7 * y + 0.3 * seg, atol=1e-5)
    # no candidate: nothing mixed, and the draw says so
    p0 = A.MixSameClass().randomize(np.random.default_rng(0))
    assert p0["partner_path"] is None and np.array_equal(A.MixSameClass().apply(y, sr, p0), y)


# ---- spectrogram domain ------------------------------------------------------------------

def test_horizontal_flip_and_identity_affine(image):
    assert np.array_equal(A.HorizontalFlip().apply(image, 0, {}), image[:, ::-1])
    ident = {"zoom_freq": 1.0, "zoom_time": 1.0, "width_shift_fraction": 0.0, "height_shift_fraction": 0.0,
             "rotation_deg": 0.0, "shear": 0.0}
    assert np.allclose(A.SpecAffine().apply(image, 0, ident), image, atol=1e-4)


def test_width_shift_moves_columns_with_fill_modes(image):
    w = image.shape[1]
    frac = 10 / w
    img = image[:, :w]
    t = A.WidthShift(fill_mode="nearest")
    out = t.apply(img, 0, {"shift_fraction": frac})
    assert np.allclose(out[:, 10:], img[:, :-10], atol=1e-4)
    assert np.allclose(out[:, :10], img[:, :1], atol=1e-4)          # nearest: edge column repeated
    const = A.WidthShift(fill_mode="constant").apply(img, 0, {"shift_fraction": frac})
    assert np.allclose(const[:, :9], img.min())
    wrap = A.WidthShift(fill_mode="wrap").apply(img, 0, {"shift_fraction": frac})
    assert np.allclose(wrap[:, :10], img[:, -10:], atol=1e-4)
    refl = A.WidthShift(fill_mode="reflect").apply(img, 0, {"shift_fraction": frac})
    assert np.allclose(refl[:, :10], img[:, :10][:, ::-1], atol=1e-4)


def test_height_shift_moves_rows_up(image):
    h = image.shape[0]
    out = A.HeightShift(fill_mode="nearest").apply(image, 0, {"shift_fraction": 4 / h})
    assert np.allclose(out[4:], image[:-4], atol=1e-4)


def test_rotation_zoom_shear_change_the_image_and_keep_shape(image):
    for t, p in ((A.Rotation(), {"rotation_deg": 20.0}), (A.SpecZoom(), {"zoom_freq": 1.2, "zoom_time": 0.8}),
                 (A.Shear(), {"shear": 0.3})):
        out = t.apply(image, 0, p)
        assert out.shape == image.shape and not np.allclose(out, image)
        assert image.min() - 1e-3 <= out.min() and out.max() <= image.max() + 1e-3  # bilinear: no overshoot


def test_zoom_in_magnifies_about_the_centre():
    img = np.zeros((41, 41), np.float32)
    img[18:23, 18:23] = 1.0
    out = A.SpecZoom().apply(img, 0, {"zoom_freq": 2.0, "zoom_time": 2.0})
    assert (out > 0.5).sum() > 2.5 * (img > 0.5).sum()
    assert out[20, 20] == 1.0


def test_brightness_scales_above_the_floor(image):
    out = A.Brightness().apply(image, 0, {"factor": 1.5})
    lo = image.min()
    assert np.allclose(out, lo + 1.5 * (image - lo), atol=1e-4)


@pytest.mark.parametrize("cls,axis", [(A.TimeMask, 1), (A.FreqMask, 0)])
def test_spec_augment_masks(cls, axis, image):
    t = cls(max_width_fraction=0.2, n_masks=2, fill="min")
    p = t.randomize(np.random.default_rng(3))
    out = t.apply(image, 0, p)
    masked = np.all(out == image.min(), axis=1 - axis)
    n = image.shape[axis]
    expect = set()
    for s, w in p["masks"]:
        a = int(np.floor(s * n))
        expect |= set(range(a, min(n, a + int(round(w * n)))))
    assert set(np.flatnonzero(masked)) >= expect and len(expect) > 0


@pytest.mark.parametrize("kind,value", [("stretch", 0.7), ("stretch", 1.2), ("pitch", 2.0), ("pitch", -3.0)])
def test_vocoder_matches_librosa_at_the_same_window(kind, value, clip):
    """Our vectorised phase vocoder is the standard one: with librosa's algorithm at the same
    n_fft / hop (512 / 128 at 8 kHz) the outputs agree to float precision."""
    import librosa
    y, sr = clip
    if kind == "stretch":
        ours = A.TimeStretch().apply(y, sr, {"rate": value})
        ref = librosa.effects.time_stretch(y, rate=value, n_fft=512, hop_length=128)
    else:
        ours = A.PitchShift().apply(y, sr, {"semitones": value})
        ref = librosa.effects.pitch_shift(y, sr=sr, n_steps=value, n_fft=512, hop_length=128)
    assert len(ours) == len(ref)
    assert np.corrcoef(ours, ref)[0, 1] > 0.9999
    assert abs(np.std(ours) / np.std(ref) - 1) < 1e-3


def test_every_min_max_pair_is_checked_by_the_one_range_helper():
    """Each transform's min_X / max_X settings are listed in RANGES, so the base class checks
    them (one message everywhere) and ``_draw`` draws between them."""
    from clinaudio_gui.augment.base import REGISTRY
    for name, cls in REGISTRY.items():
        names = {q.name for q in cls.PARAMS}
        pairs = {n[4:] for n in names if n.startswith("min_") and "max_" + n[4:] in names}
        assert pairs == set(cls.RANGES), (name, pairs, cls.RANGES)
    with pytest.raises(ValueError, match=r"^Gain: min_gain_db=10\.0 must be <= max_gain_db=0\.0$"):
        A.Gain(min_gain_db=10.0, max_gain_db=0.0)
