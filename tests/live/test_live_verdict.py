"""The live verdict with the detector: silent windows never count, before or after sound arrives
(the worker's bookkeeping, driven as the worker drives it, without a device)."""
import numpy as np

from clinaudio_gui.engine.detector.infer import load_detector
from clinaudio_gui.engine.detector.stream import LiveDetector
from clinaudio_gui.io import read_audio
from clinaudio_gui.live.session import LivePrediction, LiveSession


def _feed(session, clf, y, sr, hop_s=0.5):
    """What LiveSession._run does per window, minus the device."""
    win = int(clf.window_s * sr)
    hop = int(hop_s * sr)
    end = win
    while end <= len(y):
        label, conf, probs = clf.predict(y[end - win:end], sr, end_s=end / sr)
        probs_t = session._probs_tuple(probs)
        p = LivePrediction(index=len(session._predictions), start_s=(end - win) / sr, end_s=end / sr, label=label,
                           confidence=conf, probs=probs_t, captured_at=0.0, ready_at=0.0)
        session._predictions.append(p)
        if probs_t:
            v = np.asarray(probs_t)
            session._prob_sum = v if session._prob_sum is None else session._prob_sum + v
            session._n_prob += 1
        end += hop


def test_silence_then_sound(examples_dir):
    import torch
    torch.set_num_threads(1)
    clf = LiveDetector(load_detector())
    s = LiveSession(clf)
    y, sr = read_audio(examples_dir / "40638274_9.7_1_p2_1801.flac")
    silence = np.zeros(sr * 6, np.float32)
    _feed(s, clf, silence, sr)
    label, conf, _ = s.verdict()
    assert label == "no signal" and conf == 1.0
    n_silent = len(s.predictions)
    _feed(s, clf, np.concatenate([silence, y]), sr)   # the same stream, now with sound
    label, conf, probs = s.verdict()
    assert label in clf.labels
    with_sound = [p for p in s.predictions[n_silent:] if p.probs]
    assert with_sound
    mean = np.mean([p.probs for p in with_sound], axis=0)   # the silent windows do not dilute it
    assert np.allclose(probs, mean, atol=1e-6)


def test_rumble_gets_no_verdict():
    """A steady 80-400 Hz rumble passes the signal gate, and without the rule the stream's record
    head names it (CAS); with it no window counts and the verdict says no cycle was found
    (docs/rules/session20_live_breath_evidence.txt)."""
    import torch
    from scipy.signal import butter, lfilter
    torch.set_num_threads(1)
    b, a = butter(4, [80, 400], btype="band", fs=8000)
    y = lfilter(b, a, np.random.default_rng(0).standard_normal(8000 * 8))
    y = (0.3 * y / np.abs(y).max()).astype(np.float32)
    det = load_detector()
    labels = {}
    for rule in (False, True):
        clf = LiveDetector(det)
        clf.no_cycle_rule = rule
        s = LiveSession(clf)
        _feed(s, clf, y, 8000)
        labels[rule] = [p.label for p in s.predictions]
        if rule:
            assert s.verdict()[0] == "no breathing cycle found"
            assert set(labels[rule]) == {"no breathing cycle found"}
            assert clf.stream.events == [] and clf.stream.open_events == []
    assert {"CAS", "DAS", "CAS & DAS"} & set(labels[False]), labels[False]


def test_live_panel_shows_no_confidence_beside_a_gate_verdict(qtbot):
    """The panel's current label and verdict for windows the gate answered: the label alone (it
    used to read "no breathing cycle found 1.00"); and the events line has its own row."""
    import torch
    from clinaudio_gui.ui.qt_live_panel import QtLivePanel
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    torch.set_num_threads(1)
    mw = QtMainWindow(load_panels=False)
    qtbot.addWidget(mw)
    panel = QtLivePanel(mw)
    qtbot.addWidget(panel)
    clf = LiveDetector(load_detector())
    s = LiveSession(clf)
    _feed(s, clf, np.zeros(8000 * 4, np.float32), 8000)
    panel._show_predictions(s)
    assert panel.label_now.text() == "no signal"
    assert panel.verdict_label.text() == f"verdict so far: no signal from {len(s.predictions)} windows"
    y, sr = read_audio(sorted(__import__("pathlib").Path(__file__).parents[2].glob("resources/examples/*.flac"))[0],
                       target_sr=8000)
    _feed(s, clf, np.concatenate([np.zeros(8000 * 4, np.float32), y]), 8000)
    panel._show_predictions(s)
    label, conf, probs = s.verdict()
    assert probs and panel.verdict_label.text().startswith(f"verdict so far: {label} ({conf:.2f})")
    panel.events_label.setText("events: 7 (7 adventitious): " + "; ".join(["Wheeze 15.9-16.4 s (0.93)"] * 4))
    panel.resize(520, 900)
    panel.show()
    qtbot.wait(100)
    assert panel.events_label.parentWidget() is panel.level_bar.parentWidget()
    assert not panel.events_label.geometry().intersects(panel.level_bar.geometry())
