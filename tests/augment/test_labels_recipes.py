"""Labels travel with the audio; recipes reproduce pipelines exactly."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import clinaudio_gui.augment as A
from clinaudio_gui.core.segment import Segment
from clinaudio_gui.io import read_audio, read_sprsound


def _segs():
    return [Segment(0.5, 1.0, "Wheeze", low_hz=200.0, high_hz=400.0), Segment(2.0, 2.5, "Normal"),
            Segment(3.7, 3.95, "Fine Crackle")]


def _y(sr=8000, dur_s=4.0):
    t = np.arange(int(sr * dur_s)) / sr
    return (0.3 * np.sin(2 * np.pi * 250 * t)).astype(np.float32)


def test_time_shift_moves_and_cuts_segments():
    t = A.TimeShift()
    original = _segs()
    out, segs = t.apply_with_segments(_y(), 8000, {"shift_s": 0.25}, original)
    assert [(s.start_s, s.end_s) for s in segs] == [(0.75, 1.25), (2.25, 2.75), (3.95, 4.0)]
    assert [s.id for s in segs] == [s.id for s in original]       # same segments, moved
    out, segs = t.apply_with_segments(_y(), 8000, {"shift_s": -0.75}, original)
    # the first starts before 0 and is clipped; ids and labels are kept
    assert [(round(s.start_s, 6), round(s.end_s, 6), s.label) for s in segs] == [
        (0.0, 0.25, "Wheeze"), (1.25, 1.75, "Normal"), (2.95, 3.2, "Fine Crackle")]
    out, segs = t.apply_with_segments(_y(), 8000, {"shift_s": 1.5}, _segs())
    assert [s.label for s in segs] == ["Wheeze", "Normal"]       # the crackle left the clip


@pytest.mark.parametrize("rate", [0.7, 1.2])
def test_time_stretch_scales_segments(rate):
    y = _y()
    out, segs = A.TimeStretch().apply_with_segments(y, 8000, {"rate": rate}, _segs())
    dur = len(out) / 8000
    assert dur == pytest.approx(4.0 / rate, abs=1e-3)
    for a, b in zip(_segs(), segs):
        assert b.start_s == pytest.approx(a.start_s / rate)
        assert b.end_s == pytest.approx(min(dur, a.end_s / rate))


def test_trim_cuts_segments_with_the_audio():
    sr = 8000
    y = np.concatenate([np.zeros(sr, np.float32), _y(sr, 2.0), np.zeros(sr, np.float32)])
    segs = [Segment(0.2, 0.6, "Normal"), Segment(0.9, 1.5, "Wheeze"), Segment(2.8, 3.5, "Fine Crackle")]
    t = A.TrimSilence(threshold_db=-40.0, margin_s=0.05)
    out, moved = t.apply_with_segments(y, sr, {}, segs)
    a, b = t.bounds(y, sr)
    off = a / sr
    assert len(out) == b - a
    assert [s.label for s in moved] == ["Wheeze", "Fine Crackle"]       # silence-only segment dropped
    assert moved[0].start_s == 0.0 and moved[0].end_s == pytest.approx(1.5 - off)
    assert moved[1].start_s == pytest.approx(2.8 - off) and moved[1].end_s == pytest.approx(len(out) / sr)


def test_pitch_shift_keeps_times_and_scales_frequency_boxes():
    out, segs = A.PitchShift().apply_with_segments(_y(), 8000, {"semitones": 12.0}, _segs())
    assert [(s.start_s, s.end_s) for s in segs] == [(s.start_s, s.end_s) for s in _segs()]
    assert (segs[0].low_hz, segs[0].high_hz) == pytest.approx((400.0, 800.0))


def test_compose_chains_segment_mapping():
    pipe = A.Compose([A.TimeShift(), A.TimeStretch(), A.Gain()])
    params = {"applied": True, "children": [
        {"name": "TimeShift", "applied": True, "params": {"shift_s": 0.5}},
        {"name": "TimeStretch", "applied": True, "params": {"rate": 0.5}},
        {"name": "Gain", "applied": False, "params": {"gain_db": 3.0}}]}
    out, segs = pipe.apply_with_segments(_y(), 8000, params, _segs())
    assert len(out) == 64000
    # +0.5 s pushes the crackle (3.7-3.95 s) past the 4 s clip: dropped; then x2 in time
    assert [(s.start_s, s.end_s) for s in segs] == [(2.0, 3.0), (5.0, 6.0)]


def test_labels_travel_on_a_real_sprsound_recording(labeled_flacs):
    path = labeled_flacs[0]
    y, sr = read_audio(path)
    ann = read_sprsound(path.with_suffix(".json"))
    out, segs = A.TimeStretch().apply_with_segments(y, sr, {"rate": 1.2}, ann.segments)
    assert len(segs) == len(ann.segments)
    for a, b in zip(ann.segments, segs):
        assert b.start_s == pytest.approx(a.start_s / 1.2) and b.label == a.label


# ---- Compose / OneOf ------------------------------------------------------------------------

def test_compose_probability_and_stable_draws():
    pipe = A.Compose([A.Gain(p=0.5), A.PitchShift(p=0.5)])
    applied = [tuple(c["applied"] for c in pipe.randomize(np.random.default_rng(s))["children"])
               for s in range(200)]
    frac = np.mean(applied, axis=0)
    assert 0.35 < frac[0] < 0.65 and 0.35 < frac[1] < 0.65
    # changing one child's p does not change what the others draw
    p_a = A.Compose([A.Gain(p=0.5), A.PitchShift()]).randomize(np.random.default_rng(1))
    p_b = A.Compose([A.Gain(p=0.9), A.PitchShift()]).randomize(np.random.default_rng(1))
    assert p_a["children"][1] == p_b["children"][1]


def test_compose_refuses_mixed_domains():
    with pytest.raises(ValueError, match="cannot mix"):
        A.Compose([A.Gain(), A.HorizontalFlip()])


def test_one_of_weights_and_cycle():
    one = A.OneOf([A.Gain(), A.PolarityInversion()], weights=[1.0, 0.0])
    assert {one.randomize(np.random.default_rng(s))["choice"] for s in range(20)} == {0}
    cyc = A.OneOf([A.Gain(), A.PolarityInversion(), A.TimeShift()], cycle=True)
    assert [cyc.randomize(np.random.default_rng(0), {"index": i})["choice"] for i in range(6)] == [0, 1, 2, 0, 1, 2]
    with pytest.raises(ValueError, match=r"\[1.0, -1.0\]"):
        A.OneOf([A.Gain(), A.Gain()], weights=[1.0, -1.0])


def test_applied_names():
    pipe = A.load_recipe("taa").pipeline
    p = pipe.randomize(np.random.default_rng(0))
    names = A.applied_names(pipe, p)
    assert names[:2] == ["SpecAffine", "Brightness"]


# ---- recipes --------------------------------------------------------------------------------

def test_builtin_naa_is_what_the_issue_lists():
    r = A.load_recipe("naa")
    assert r.domain == "audio"
    kids = r.pipeline.transforms
    assert isinstance(r.pipeline, A.OneOf) and r.pipeline.cycle
    assert [k.name for k in kids] == ["TimeShift", "PitchShift", "PitchShift", "TimeStretch", "TimeStretch",
                                      "TrimSilence"]
    assert kids[1].min_semitones > 0 and kids[2].max_semitones < 0               # up, then down
    assert (kids[3].min_rate, kids[3].max_rate) == (0.7, 0.7)
    assert (kids[4].min_rate, kids[4].max_rate) == (1.2, 1.2)
    assert kids[0].direction == "both"


def test_builtin_taa_is_what_the_issue_lists():
    r = A.load_recipe("taa")
    assert r.domain == "spectrogram" and r.features["kind"] == "mel_db"
    aff, bright, flip = r.pipeline.transforms
    assert (aff.max_zoom_fraction, aff.max_width_shift_fraction, aff.max_height_shift_fraction,
            aff.max_rotation_deg, aff.max_shear, aff.fill_mode) == (0.25, 0.20, 0.20, 30.0, 0.30, "nearest")
    assert (bright.min_factor, bright.max_factor) == (0.5, 1.5)
    assert flip.name == "HorizontalFlip" and flip.p == 0.5


def test_recipe_file_reproduces_the_pipeline_exactly(tmp_path, clip):
    y, sr = clip
    pipe = A.Compose([A.TimeShift(max_shift_s=0.3, p=0.8), A.OneOf([A.PitchShift(), A.TimeStretch(rates=[0.7, 1.2])]),
                      A.AddNoise(color="brown", p=0.5), A.BandPassFilter(p=0.3)])
    r = A.Recipe("mine", pipe, "test recipe")
    path = A.save_recipe(tmp_path / "mine.json", r)
    r2 = A.load_recipe(path)
    assert r2.to_dict() == r.to_dict() and r2.pipeline == pipe
    for seed in range(3):
        p1 = r.pipeline.randomize(A.rng_for(seed, "x.flac", 0))
        p2 = r2.pipeline.randomize(A.rng_for(seed, "x.flac", 0))
        assert p1 == p2
        assert np.array_equal(r.pipeline.apply(y, sr, p1), r2.pipeline.apply(y, sr, p2))
    assert pickle.loads(pickle.dumps(r2.pipeline)) == pipe


@pytest.mark.parametrize("text,shown", [
    ("{", "invalid JSON"),
    ('{"format": "other", "version": 1, "pipeline": {}}', "'other'"),
    ('{"format": "clinaudio.augment.recipe", "version": 9, "pipeline": {}}', "version=9"),
    ('{"format": "clinaudio.augment.recipe", "version": 1, "pipeline": {"name": "Warp"}}', "'Warp'"),
    ('{"format": "clinaudio.augment.recipe", "version": 1, "pipeline": {"name": "Gain", "min_gain_db": "x"}}',
     "'x'"),
])
def test_bad_recipe_files_name_the_file_and_problem(tmp_path, text, shown):
    f = tmp_path / "bad.json"
    f.write_text(text)
    with pytest.raises(ValueError) as e:
        A.load_recipe(f)
    assert "bad.json" in str(e.value) and shown in str(e.value)
    with pytest.raises(ValueError, match="'nope'"):
        A.load_recipe("nope")


def test_rng_for_is_stable_and_distinct():
    a = A.rng_for(1, "dir/a.flac", 0).integers(1 << 62, size=3)
    assert np.array_equal(a, A.rng_for(1, "dir/a.flac", 0).integers(1 << 62, size=3))
    for other in (A.rng_for(2, "dir/a.flac", 0), A.rng_for(1, "dir/b.flac", 0), A.rng_for(1, "dir/a.flac", 1)):
        assert not np.array_equal(a, other.integers(1 << 62, size=3))
    assert json.dumps(A.load_recipe("naa").to_dict())


def test_augment_span_splices_back_and_moves_later_labels():
    from clinaudio_gui.augment.span import augment_span
    sr = 8000
    y = _y(sr, 4.0)
    segs = [Segment(0.2, 0.8, "A"), Segment(1.2, 1.8, "B"), Segment(1.9, 2.4, "C"), Segment(3.0, 3.5, "D")]
    out, moved = augment_span(A.TimeStretch(), y, sr, {"rate": 0.5}, segs, start_s=1.0, end_s=2.0)
    assert len(out) == 5 * sr                                   # the 1 s span became 2 s
    assert np.array_equal(out[:sr], y[:sr]) and np.array_equal(out[3 * sr:], y[2 * sr:])
    # crossfaded edges: the splice starts and ends on the untouched recording (no click)
    assert abs(out[sr] - y[sr]) < 1e-6 and abs(out[3 * sr - 1] - y[2 * sr - 1]) < 0.05
    got = [(s.label, round(s.start_s, 6), round(s.end_s, 6)) for s in moved]
    # A untouched; B inside: mapped (x2 from the span start); C crosses the end: inside part
    # mapped, outside part shifted by +1 s; D after: shifted by +1 s
    assert got == [("A", 0.2, 0.8), ("B", 1.4, 2.6), ("C", 2.8, 3.0), ("C", 3.0, 3.4), ("D", 4.0, 4.5)]
    assert len({s.id for s in moved}) == len(moved)
    with pytest.raises(ValueError, match="too short"):
        augment_span(A.Gain(), y, sr, {"gain_db": 1.0}, segs, start_s=1.0, end_s=1.0)
