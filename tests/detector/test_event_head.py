"""The event head (tasks 1-1 / 1-2 from pooled encoder features): features pool the right frames,
the fit learns separable classes and never predicts a class it had no example of, the head
travels in the package (safetensors + manifest) and the Detector uses it only when the manifest
chose it; the bundled detector classifies the experts' events of the bundled examples."""
import json

import numpy as np
import pytest
import torch

from clinaudio_gui.engine.common.data import EVENT_LABELS
from clinaudio_gui.engine.common.package import save_model_package
from clinaudio_gui.engine.detector.model import DetectorConfig, DetectorNet
from clinaudio_gui.engine.detector.segments import (EventHead, event_features, features_for, n_features_for,
                                                    n_segment_features, segment_features)
from clinaudio_gui.engine.detector.event_fit import with_event_head


def test_segment_features_pool_the_event_and_its_context():
    d, K = 3, 8
    seq = np.zeros((100, d), np.float32)          # 32 ms grid
    seq[25:50] = [1.0, 2.0, 3.0]                   # 0.8 s .. 1.6 s
    seq[30] = [5.0, 2.0, 3.0]
    fp = np.zeros((200, K))
    fp[:, 0] = 1.0
    fp[50:100] = np.eye(K)[2]                     # 16 ms grid, the same 0.8 .. 1.6 s
    f = segment_features(seq, 0.032, fp, 0.016, [(0.8, 1.6, "Wheeze")])
    assert f.shape == (1, n_segment_features(d, K))
    mean, mx, sd, ctx = f[0, :d], f[0, d:2 * d], f[0, 2 * d:3 * d], f[0, 3 * d:4 * d]
    assert mean[1] == pytest.approx(2.0) and mean[0] == pytest.approx((24 + 5) / 25)
    assert mx.tolist() == [5.0, 2.0, 3.0] and sd[1] == pytest.approx(0.0) and sd[0] > 0
    assert ctx.tolist() == [0.0, 0.0, 0.0]           # the 0.5 s around it is silent here
    assert f[0, 4 * d:4 * d + K].tolist() == np.eye(K)[2].tolist()
    assert f[0, -1] == pytest.approx(np.log(0.8 + 1e-3))
    # an event at the very end still gets at least one frame
    g = segment_features(seq, 0.032, fp, 0.016, [(3.19, 3.2, "Normal")])
    assert np.isfinite(g).all()


def test_event_features_add_record_context_and_each_branch():
    rng = np.random.default_rng(3)
    d_main, d_b, K = 4, 3, 8
    seq = rng.normal(size=(50, d_main + 2 * d_b)).astype(np.float32)
    fp = np.full((100, K), 1 / K)
    rp = np.array([0.1, 0.2, 0.3, 0.3, 0.1])
    ev = [(0.2, 0.8, "Wheeze"), (1.0, 1.5, "Normal")]
    f = event_features(seq, d_main, 2, 0.032, fp, 0.016, rp, ev)
    n_main = n_segment_features(d_main, K)
    assert f.shape == (2, n_main + 5 + 2 * 2 * d_b)
    assert np.allclose(f[:, :n_main], segment_features(seq[:, :d_main], 0.032, fp, 0.016, ev))
    assert np.allclose(f[:, n_main:n_main + 5], rp)
    a, b = int(0.2 / 0.032), int(np.ceil(0.8 / 0.032))
    second = seq[a:b, d_main + d_b:]
    assert np.allclose(f[0, -2 * d_b:], np.concatenate([second.mean(0), second.max(0)]), atol=1e-6)


def test_fit_learns_classes_and_never_predicts_an_absent_one():
    rng = np.random.default_rng(0)
    present = ["Normal", "Wheeze", "Fine Crackle"]
    centres = {c: rng.normal(size=12) * 3 for c in present}
    X = np.concatenate([centres[c] + rng.normal(size=(60, 12)) for c in present]).astype(np.float32)
    y = [c for c in present for _ in range(60)]
    head = EventHead(12, len(EVENT_LABELS))
    info = head.fit(X, y, list(EVENT_LABELS))
    assert set(info["absent_classes"]) == set(EVENT_LABELS) - set(present)
    p = torch.softmax(torch.from_numpy(head.logits(X)), -1).numpy()
    pred = [EVENT_LABELS[i] for i in p.argmax(1)]
    assert np.mean([a == b for a, b in zip(pred, y)]) > 0.95
    absent = [EVENT_LABELS.index(c) for c in info["absent_classes"]]
    assert p[:, absent].max() < 1e-6
    # two classes (the binary branch of scikit-learn) still give one row per class
    head2 = EventHead(12, len(EVENT_LABELS))
    head2.fit(X[:120], y[:120], list(EVENT_LABELS))
    pred2 = head2.logits(X[:120]).argmax(1)
    assert np.mean([EVENT_LABELS[i] == c for i, c in zip(pred2, y[:120])]) > 0.95


def _package(tmp_path, net, calib):
    m = {"kind": "detector", "name": "t", "frame_classes": ["none"] + list(EVENT_LABELS),
         "event_classes": list(EVENT_LABELS), "record_classes": ["Normal", "CAS", "DAS", "CAS & DAS", "Poor Quality"],
         "features": {"sample_rate_hz": 8000, "hop_s": 0.016}, "architecture": net.cfg.to_dict(),
         "calibration": {"t_frame": 1.0, "t_record": 1.0, "offsets": {}, **calib}, "decoder": {},
         "window": {"max_frames": 1024, "hop_frames": 512}}
    save_model_package(tmp_path, {k: v for k, v in net.state_dict().items()}, m)
    return tmp_path


def _example_audio(examples_dir, seconds):
    from clinaudio_gui.io.audio import read_audio
    y, _ = read_audio(sorted(examples_dir.glob("*.flac"))[0], target_sr=8000)
    return np.tile(y, int(np.ceil(seconds * 8000 / len(y))))[:int(seconds * 8000)].astype(np.float32)


def test_head_travels_in_the_package_and_is_used_only_when_chosen(tmp_path, examples_dir):
    from clinaudio_gui.engine.detector.infer import Detector
    torch.manual_seed(0)
    base = DetectorNet(DetectorConfig(widths=(4, 4, 4), d_model=8, rnn_hidden=4, n_heads=2)).eval()
    net = with_event_head(base)
    assert net.cfg.event_head_features == n_features_for(net.cfg) == (4 * 8 + 8 + 1) + 5 + 2 * 2 * 8
    with torch.no_grad():
        net.event_head.lin.weight.normal_()
    y = _example_audio(examples_dir, 4)
    events = [(0.5, 1.5, "Wheeze"), (2.0, 3.0, "Normal")]

    det = Detector(_package(tmp_path / "head", net, {"event_source": "head", "t_event": 2.0}))
    assert det.event_source == "head"
    res = det.detect(y, 8000, with_frames=True, with_sequence=True)
    p = det.event_probabilities(res, events)
    assert res["sequence"].shape[1] == 8 + 2 * 8   # fused sequence, then the two branches
    rp = res["record_probabilities_exact"]
    shown = [res["record_probabilities"][c] for c in det.record_classes]
    if res["events"]:
        assert np.allclose(rp, shown, atol=1e-4)
    else:   # this untrained net decodes nothing: no label is shown, the head's softmax stays internal
        assert res["quality"] == "no breathing cycle found" and shown == [0.0, 0.0, 0.0, 0.0, 1.0]
        assert np.isclose(rp.sum(), 1.0) and rp.max() < 1.0
    z = net.event_head.logits(features_for(net.cfg, res["sequence"], res["frame_probabilities"], 0.016, rp, events))
    assert np.allclose(p, torch.softmax(torch.from_numpy(z / 2.0), -1).numpy(), atol=1e-6)
    frame_avg = Detector(_package(tmp_path / "frames", net, {"event_source": "frames"}))
    q = frame_avg.event_probabilities(frame_avg.detect(y, 8000, with_frames=True), events)
    assert not np.allclose(p, q) and np.allclose(q.sum(1), 1)
    with pytest.raises(ValueError, match="with_sequence"):
        det.event_probabilities(det.detect(y, 8000, with_frames=True), events)
    # an older package (no head in its architecture) loads and uses the frame average
    old = Detector(_package(tmp_path / "old", base, {"event_source": "head"}))
    assert old.event_source == "frames" and not hasattr(old.net, "event_head")


def test_long_recordings_get_a_stitched_sequence(tmp_path, examples_dir):
    from clinaudio_gui.engine.detector.infer import Detector
    torch.manual_seed(0)
    net = with_event_head(DetectorNet(DetectorConfig(widths=(4, 4, 4), d_model=8, rnn_hidden=4, n_heads=2)).eval())
    det = Detector(_package(tmp_path, net, {"event_source": "head"}))
    y = _example_audio(examples_dir, 40)   # 3 blocks
    res = det.detect(y, 8000, with_frames=True, with_sequence=True)
    assert res["sequence"].shape == ((len(res["frame_probabilities"]) + 1) // 2, 8 + 2 * 8)
    assert (np.abs(res["sequence"]).sum(1) > 0).mean() > 0.99   # every part of the file is covered
    p = det.event_probabilities(res, [(1.0, 2.0), (20.0, 21.0), (38.0, 39.5)])
    assert p.shape == (3, 7) and np.allclose(p.sum(1), 1)


def test_bundled_detector_classifies_the_examples_expert_events(examples_dir):
    from clinaudio_gui.engine.detector.infer import load_detector
    det = load_detector()
    assert det.event_source == "head", "the bundled detector chose the event head on validation"
    right = total = 0
    for j in sorted(examples_dir.glob("*.json")):
        evs = [(float(e["start"]) / 1000, float(e["end"]) / 1000, e["type"]) for e in json.loads(j.read_text())["event_annotation"]]
        res = det.detect_file(j.with_suffix(".flac"), with_frames=True, with_sequence=True)
        p = det.event_probabilities(res, evs)
        assert np.allclose(p.sum(1), 1)
        right += sum(EVENT_LABELS[i] == e[2] for i, e in zip(p.argmax(1), evs))
        total += len(evs)
    assert total >= 10 and right / total >= 0.6, (right, total)
