"""Streaming and offline detection agree; the stream stays quiet on silence."""
import numpy as np
import pytest

from clinaudio_gui.engine.detector.infer import load_detector
from clinaudio_gui.engine.detector.stream import LiveDetector, StreamingDetector
from clinaudio_gui.io import read_audio
from clinaudio_gui.metrics.events import event_metrics

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def det():
    import torch
    torch.set_num_threads(1)
    return load_detector()


def _stream(det, y, chunk=160):
    s = StreamingDetector(det)
    out = []
    for i in range(0, len(y), chunk):
        out += s.push(y[i:i + chunk])
    return out + s.flush()


def test_streaming_agrees_with_offline(det, sprsound_dir):
    files = sorted(sprsound_dir.glob("*.flac"))[5::150][:8]
    ref, est = {}, {}
    for f in files:
        y, sr = read_audio(f)
        off = det.detect(y, sr)["events"]
        on = _stream(det, y)
        ref[f.name] = [(e["start_s"], e["end_s"], e["label"]) for e in off]
        est[f.name] = [(e["start_s"], e["end_s"], e["label"]) for e in on]
        for a, b in zip(on, on[1:]):
            assert a["end_s"] <= b["start_s"] + 1e-9   # events arrive in order, never twice
    # every label counts here (Normal too): the same events, onsets within 0.2 s
    m = event_metrics(ref, est, map_labels=False)
    assert sum(len(v) for v in ref.values()) > 5
    assert m["event_based"]["micro"]["f"] >= 0.6, m["event_based"]["micro"]


def test_silence_in_the_stream_gives_nothing(det):
    assert _stream(det, np.zeros(det.sr * 12, np.float32)) == []
    live = LiveDetector(det)
    label, conf, probs = live.predict(np.zeros(det.sr * 8, np.float32), det.sr, end_s=8.0)
    assert label == "no signal" and probs is None
