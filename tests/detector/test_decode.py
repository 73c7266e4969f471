"""The decoder turns known frame activity into known events (thresholds, hysteresis, median
smoothing, gap merging, minimum duration, confidence)."""
import numpy as np
import pytest

from clinaudio_gui.engine.detector.data import FRAME_CLASSES, frame_target, target_events
from clinaudio_gui.engine.detector.decode import DecoderParams, decode

CLASSES = FRAME_CLASSES[1:]
HOP = 0.016


def activity(n, spans):
    """(n, 8) probabilities: background 0.9 except the given (start_frame, end_frame, label, p)."""
    p = np.zeros((n, 8))
    p[:, 0] = 0.9
    p[:, 1] = 0.1
    for a, b, lab, v in spans:
        c = FRAME_CLASSES.index(lab)
        p[a:b] = (1 - v) / 7
        p[a:b, c] = v
    return p


def test_known_activity_gives_known_events():
    p = activity(500, [(50, 100, "Wheeze", 0.8), (200, 300, "Fine Crackle", 0.7), (400, 402, "Stridor", 0.9)])
    ev = decode(p, CLASSES, HOP, DecoderParams(default_threshold=0.5, median_frames=1, min_duration_s=0.1))
    assert [(e["label"], e["start_s"], e["end_s"]) for e in ev] == [
        ("Wheeze", round(50 * HOP, 4), round(100 * HOP, 4)),
        ("Fine Crackle", round(200 * HOP, 4), round(300 * HOP, 4))]   # the 2-frame Stridor is too short
    assert ev[0]["confidence"] == pytest.approx(0.8)
    assert ev[1]["confidence"] == pytest.approx(0.7)


def test_per_class_threshold_and_gap_merging():
    p = activity(300, [(10, 60, "Wheeze", 0.45), (64, 120, "Wheeze", 0.45), (150, 200, "Rhonchi", 0.45)])
    base = dict(median_frames=1, min_duration_s=0.05)
    assert decode(p, CLASSES, HOP, DecoderParams(default_threshold=0.5, **base)) == []
    ev = decode(p, CLASSES, HOP, DecoderParams(default_threshold=0.5, thresholds={"Wheeze": 0.4},
                                                max_gap_s=0.1, **base))
    assert [(e["label"], e["start_s"], e["end_s"]) for e in ev] == [("Wheeze", round(10 * HOP, 4), round(120 * HOP, 4))]
    ev = decode(p, CLASSES, HOP, DecoderParams(default_threshold=0.5, thresholds={"Wheeze": 0.4},
                                                max_gap_s=0.0, **base))
    assert len(ev) == 2


def test_hysteresis_extends_a_seeded_run_only():
    p = activity(200, [(20, 40, "Wheeze", 0.45), (40, 60, "Wheeze", 0.8), (60, 80, "Wheeze", 0.45),
                       (120, 160, "Wheeze", 0.45)])
    prm = DecoderParams(default_threshold=0.6, hysteresis=0.7, median_frames=1, min_duration_s=0.05)
    ev = decode(p, CLASSES, HOP, prm)
    assert [(e["start_s"], e["end_s"]) for e in ev] == [(round(20 * HOP, 4), round(80 * HOP, 4))]


def test_median_smoothing_removes_one_frame_dropouts():
    p = activity(200, [(20, 120, "Fine Crackle", 0.8)])
    p[50] = activity(1, [])[0]
    p[90] = activity(1, [])[0]
    raw = decode(p, CLASSES, HOP, DecoderParams(median_frames=1, max_gap_s=0.0, min_duration_s=0.0))
    sm = decode(p, CLASSES, HOP, DecoderParams(median_frames=5, max_gap_s=0.0, min_duration_s=0.0))
    assert len(raw) == 3 and len(sm) == 1


def test_frame_target_roundtrip():
    ev = [(0.5, 1.5, "Normal"), (2.0, 2.8, "Wheeze"), (3.0, 4.0, "Wheeze+Crackle")]
    t = frame_target(ev, 300, HOP)
    back = target_events(t, HOP)
    assert [e[2] for e in back] == ["Normal", "Wheeze", "Wheeze+Crackle"]
    for (s, e, _), (s2, e2, _) in zip(ev, back):
        assert abs(s - s2) <= HOP and abs(e - e2) <= HOP


def test_bad_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="expected"):
        decode(np.zeros((10, 3)), CLASSES, HOP, DecoderParams())
