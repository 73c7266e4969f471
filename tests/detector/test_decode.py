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


def test_boundary_shifts_move_every_event_and_stay_inside_the_recording():
    p = activity(300, [(0, 50, "Wheeze", 0.8), (100, 150, "Rhonchi", 0.8), (280, 300, "Fine Crackle", 0.8)])
    base = DecoderParams(default_threshold=0.5, median_frames=1, min_duration_s=0.1)
    shifted = DecoderParams(**{**base.to_dict(), "onset_shift_s": -0.1, "offset_shift_s": 0.05})
    a, b = decode(p, CLASSES, HOP, base), decode(p, CLASSES, HOP, shifted)
    assert [e["label"] for e in a] == [e["label"] for e in b] == ["Wheeze", "Rhonchi", "Fine Crackle"]
    assert b[0]["start_s"] == 0.0                                   # clipped at the start
    assert b[1]["start_s"] == pytest.approx(a[1]["start_s"] - 0.1)
    assert b[1]["end_s"] == pytest.approx(a[1]["end_s"] + 0.05)
    assert b[2]["end_s"] == pytest.approx(300 * HOP)                # clipped at the end
    seg = DecoderParams(**{**shifted.to_dict(), "mode": "segments"})
    assert decode(p, CLASSES, HOP, seg)[1]["start_s"] == pytest.approx(100 * HOP - 0.1)
    assert DecoderParams.from_dict(shifted.to_dict()) == shifted


def test_streaming_with_shifted_boundaries_emits_the_shifted_events(sprsound_dir):
    """The stream's bookkeeping works on unshifted frames: with shifts it emits exactly the events
    it emits without them, each moved by the shifts (nothing twice, nothing dropped)."""
    import torch

    from clinaudio_gui.engine.detector.infer import load_detector
    from clinaudio_gui.engine.detector.stream import StreamingDetector
    from clinaudio_gui.io import read_audio
    torch.set_num_threads(1)
    det = load_detector()
    from dataclasses import replace
    plain = replace(det.decoder, onset_shift_s=0.0, offset_shift_s=0.0)   # keeps the proposal scorer
    shifted = replace(plain, onset_shift_s=-0.15, offset_shift_s=0.1)

    def stream(y):
        s = StreamingDetector(det)
        out = []
        for i in range(0, len(y), 400):
            out += s.push(y[i:i + 400])
        return [(e["start_s"], e["end_s"], e["label"]) for e in out + s.flush()]

    n = 0
    for f in sorted(sprsound_dir.glob("*.flac"))[7::150][:6]:
        y, sr = read_audio(f)
        det.decoder = plain
        a = stream(y)
        det.decoder = shifted
        b = stream(y)
        n += len(a)
        assert len(a) == len(b)
        assert all(x[1] <= y[0] + 1e-9 for x, y in zip(b, b[1:]))     # shifted events never overlap
        for (a0, a1, la), (b0, b1, lb) in zip(a, b):
            assert la == lb
            assert b0 == pytest.approx(max(0.0, a0 - 0.15), abs=1e-3) or b0 > a0 - 0.15   # or moved to its neighbour's end
            assert b1 == pytest.approx(min(len(y) / sr, a1 + 0.1), abs=0.02)
    assert n > 5


def test_fast_pooling_equals_torch_pooling():
    import torch

    from clinaudio_gui.engine.common.blocks import MaxPool3x3
    from clinaudio_gui.engine.detector.model import FreqMaxPool
    for f in (32, 17, 2):
        x = torch.randn(2, 3, f, 41)
        assert torch.equal(FreqMaxPool()(x), torch.nn.MaxPool2d((2, 1))(x))
        assert torch.equal(MaxPool3x3()(x), torch.nn.MaxPool2d(3, 1, 1)(x))
    x = torch.tensor([[[[1.0, float("nan")], [0.0, 2.0]]]])
    assert torch.equal(MaxPool3x3()(x).isnan(), torch.nn.MaxPool2d(3, 1, 1)(x).isnan())
