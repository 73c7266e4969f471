"""Property tests: any draw of any time-moving pipeline keeps labels inside the clip, in order,
and a recipe's params reapplied give the same bytes."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clinaudio_gui.augment as A
from clinaudio_gui.core.segment import Segment

SR = 4000


def _signal(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = (0.2 * rng.standard_normal(n)).astype(np.float32)
    y[: n // 5] = 0.0                       # a silent lead-in for TrimSilence to cut
    return y


segments_st = st.lists(st.tuples(st.floats(0.0, 2.9), st.floats(0.0, 1.5)), max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), segs=segments_st, n_s=st.floats(0.5, 3.0))
def test_labels_stay_inside_the_clip_for_any_draw(seed, segs, n_s):
    pipe = A.Compose([A.TimeShift(max_shift_s=1.0, p=0.7), A.TimeStretch(min_rate=0.6, max_rate=1.6, p=0.7),
                      A.TrimSilence(p=0.5), A.PitchShift(p=0.3)])
    n = int(n_s * SR)
    y = _signal(seed % 1000, n)
    segments = [Segment(a, a + d, f"L{i}") for i, (a, d) in enumerate(segs)]
    params = pipe.randomize(np.random.default_rng(seed))
    out, moved = pipe.apply_with_segments(y, SR, params, segments)
    dur = len(out) / SR
    assert out.dtype == np.float32 and np.all(np.isfinite(out))
    assert np.array_equal(out, pipe.apply(y, SR, json.loads(json.dumps(params))))   # frozen, via JSON
    for s in moved:
        assert 0.0 <= s.start_s <= s.end_s <= dur + 1e-9
    order = [s.label for s in moved]
    original_order = [s.label for s in segments if s.label in order]
    assert order == original_order          # no transform reorders labels in time (no flip in audio)


@pytest.mark.parametrize("bad", ['{"record_annotation": "Normal", "event_annotation": [{"start": "x"}]}', "{"])
def test_batch_skips_a_recording_with_a_broken_annotation_by_name(tmp_path, labeled_flacs, bad, capsys):
    import shutil

    from clinaudio_gui.cli import main
    d = tmp_path / "in"
    d.mkdir()
    good, broken = labeled_flacs[:2]
    for f in (good, broken):
        shutil.copy(f, d / f.name)
    shutil.copy(good.with_suffix(".json"), d / good.with_suffix(".json").name)
    (d / broken.with_suffix(".json").name).write_text(bad)
    assert main(["augment", "--recipe", "naa", "--in", str(d), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert f"skipped {broken.name}" in err and broken.with_suffix(".json").name in err
    assert (tmp_path / "o" / (good.stem + "__aug00.flac")).exists()
    assert not list((tmp_path / "o").glob(broken.stem + "*"))
