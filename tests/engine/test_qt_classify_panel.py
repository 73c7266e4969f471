"""The classify panel on a real recording with the bundled models, the training dialog on a tiny
real run, and the model manager. The host window is a small QWidget offering the documented
main-window interface (current_recording, add_suggestion_segments, status, recordingChanged)."""
import numpy as np
import pytest
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from clinaudio_gui.io import open_audio
from clinaudio_gui.ui.qt_classify_panel import BUNDLED, CLASSIFIERS, QtClassifyPanel, QtModelManager

import torch

torch.set_num_threads(1)  # this 2-core machine is shared: 1 thread is fastest under load

pytestmark = pytest.mark.timeout(240)


class Host(QWidget):
    recordingChanged = Signal()

    def __init__(self, rec=None):
        super().__init__()
        self.rec, self.suggestions, self.messages = rec, [], []

    def current_recording(self):
        return self.rec

    def add_suggestion_segments(self, segments, record_label=None, record_confidence=None):
        self.suggestions.append((list(segments), record_label, record_confidence))

    def status(self, msg):
        self.messages.append(msg)


def test_classify_puts_model_suggestions_on_the_host(qtbot, sprsound_dir):
    rec = open_audio(sprsound_dir / "40138127_14.7_0_p1_137.flac")
    host = Host(rec)
    panel = QtClassifyPanel(host)
    qtbot.addWidget(host); qtbot.addWidget(panel)
    assert panel.event_combo.count() > 1 and panel.record_combo.count() > 1
    panel.detector_combo.setCurrentIndex(panel.detector_combo.findData(CLASSIFIERS))
    assert panel.classify_button.text() == "Classify" and panel.event_combo.isEnabled()
    with qtbot.waitSignal(panel.classified, timeout=120_000):
        assert panel.classify()
        assert not panel.classify_button.isEnabled()  # worker thread busy, GUI thread free
    segs, label, conf = host.suggestions[-1]
    assert segs and all(s.source == "model" and 0 <= s.confidence <= 1 for s in segs)
    assert segs[0].start_s == 0.0 and segs[-1].end_s == pytest.approx(rec.duration_s, abs=1e-3)
    assert label in ("Normal", "CAS", "DAS", "CAS & DAS", "Poor Quality") and 0 < conf <= 1
    assert panel.classify_button.isEnabled() and "event suggestion" in panel.result_label.text()


def test_detector_is_the_default_and_its_events_carry_confidences(qtbot, examples_dir):
    rec = open_audio(examples_dir / "40638274_9.7_1_p2_1801.flac")   # CAS & DAS: crackles and a wheeze
    host = Host(rec)
    panel = QtClassifyPanel(host)
    qtbot.addWidget(host); qtbot.addWidget(panel)
    assert panel.detector_combo.currentData() == BUNDLED and panel.classify_button.text() == "Detect"
    with qtbot.waitSignal(panel.classified, timeout=120_000):
        assert panel.classify()
    segs, label, conf = host.suggestions[-1]
    assert segs and all(s.source == "model" and 0 < s.confidence <= 1 for s in segs)
    assert {s.label for s in segs} - {"Normal"}, "no adventitious event found on a CAS & DAS recording"
    assert label in ("Normal", "CAS", "DAS", "CAS & DAS", "Poor Quality")
    r = panel.last_result
    assert set(r["record_probabilities"]) == {"Normal", "CAS", "DAS", "CAS & DAS", "Poor Quality"}
    assert "CAS &amp; DAS" in panel.result_label.text() or "CAS & DAS" in panel.result_label.text()
    # the confidence slider hides the less confident suggestions, on the same recording only
    lo = min(s.confidence for s in segs)
    panel.conf_slider.setValue(int(lo * 100) + 5)
    segs2, _, _ = host.suggestions[-1]
    assert len(segs2) < len(segs) and all(s.confidence >= panel.conf_slider.value() / 100 for s in segs2)


def test_detector_result_for_another_recording_is_dropped(qtbot, examples_dir):
    """Trust: a result that arrives after the user moved to another recording labels nothing."""
    rec = open_audio(examples_dir / "40638274_9.7_1_p2_1801.flac")
    host = Host(rec)
    panel = QtClassifyPanel(host)
    qtbot.addWidget(host); qtbot.addWidget(panel)
    assert panel.classify()
    host.rec = open_audio(examples_dir / "40638274_9.7_1_p3_1765.flac")   # the user moves on at once
    qtbot.waitUntil(lambda: panel.classify_button.isEnabled(), timeout=120_000)
    assert host.suggestions == []
    assert "dropped" in panel.result_label.text()


def _detect_unlabelled(qtbot, path) -> str:
    """Detect in the panel on a recording that must get no label; the panel's text."""
    host = Host(open_audio(path))
    panel = QtClassifyPanel(host)
    qtbot.addWidget(host); qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.classified, timeout=120_000):
        assert panel.classify()
    segs, label, _ = host.suggestions[-1]
    assert segs == [] and label == "Poor Quality"
    return panel.result_label.text()


def test_silence_gets_no_adventitious_label(qtbot, tmp_path):
    from clinaudio_gui.io.audio import write_audio
    text = _detect_unlabelled(qtbot, write_audio(tmp_path / "silence.wav", np.zeros(8000 * 10, np.float32), 8000))
    assert "no signal" in text
    # no confidence and no per-class line: the model was not asked (it used to read 0.20 each)
    assert "0.20" not in text and "CAS" not in text


def test_rumble_without_breathing_cycles_gets_no_label(qtbot, tmp_path):
    """A steady 80-400 Hz rumble passes the signal gate; the record head calls it CAS (1.00), but the
    decoder finds no breathing cycle, so the panel gives no label (docs/rules/session20_breath_evidence.txt)."""
    from scipy.signal import butter, lfilter
    from clinaudio_gui.io.audio import write_audio
    b, a = butter(4, [80, 400], btype="band", fs=8000)
    y = lfilter(b, a, np.random.default_rng(0).standard_normal(8000 * 6))
    text = _detect_unlabelled(qtbot, write_audio(tmp_path / "rumble.wav", (0.3 * y / np.abs(y).max()).astype(np.float32), 8000))
    assert "No breathing cycle found" in text and "CAS" not in text and "1.00" not in text, text


def test_classify_without_recording_says_so(qtbot):
    host = Host(None)
    panel = QtClassifyPanel(host)
    qtbot.addWidget(host); qtbot.addWidget(panel)
    assert not panel.classify() and "No recording" in panel.result_label.text()


def test_model_manager_lists_bundled_models(qtbot):
    dlg = QtModelManager()
    qtbot.addWidget(dlg)
    names = [dlg.list.item(i).text() for i in range(dlg.list.count())]
    assert any("classifier-2-2" in n for n in names)
    assert '"weights_sha256"' in dlg.text.toPlainText()


def test_training_dialog_tiny_run(qtbot, sprsound_dir, tmp_path):
    host = Host(None)
    panel = QtClassifyPanel(host)
    qtbot.addWidget(host); qtbot.addWidget(panel)
    dlg = panel.open_training_dialog()
    qtbot.addWidget(dlg)
    dlg.task_combo.setCurrentText("2-1")
    dlg.data_edit.setText(str(sprsound_dir))
    dlg.out_edit.setText(str(tmp_path / "m"))
    dlg.epochs_spin.setValue(2)
    with qtbot.waitSignal(dlg.finishedTraining, timeout=200_000):
        dlg.start(max_items=8, max_batches=1, batch_size=4, cache_dir=tmp_path / "cache", threads=1)
    assert [r["epoch"] for r in dlg.history] == [1, 2]
    xs, ys = dlg.score_curve.getData()
    assert list(xs) == [1, 2] and np.isfinite(ys).all()
    img = dlg.confusion_image.image
    assert img is not None and img.shape == (3, 3)
    assert len(dlg._confusion_texts) == 9 and (tmp_path / "m" / "manifest.json").is_file()


def test_classify_in_the_real_main_window(qtbot, sprsound_dir):
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    mw = QtMainWindow(restore_layout=False)
    qtbot.addWidget(mw)
    panel = mw.findChild(QtClassifyPanel)
    assert panel is not None, "the main window should dock the classify panel"
    assert mw.open_path(sprsound_dir / "40138127_14.7_0_p1_137.flac")
    qtbot.waitUntil(lambda: mw.current_recording() is not None, timeout=20_000)
    with qtbot.waitSignal(panel.classified, timeout=120_000):
        assert panel.classify()
    msg = mw.statusBar().currentMessage()
    assert "suggested segment(s)" in msg and "suggested record label" in msg


def test_record_label_without_its_kind_of_event_is_pointed_out():
    from clinaudio_gui.engine.detector.scoring import record_event_note
    ev = lambda *labels: [{"label": l, "start_s": 0.0, "end_s": 1.0, "confidence": 0.9} for l in labels]
    assert record_event_note({"record_label": "CAS", "events": ev("Wheeze")}) == ""
    assert record_event_note({"record_label": "DAS", "events": ev("Normal", "Fine Crackle")}) == ""
    assert record_event_note({"record_label": "CAS & DAS", "events": ev("Wheeze+Crackle")}) == ""
    assert record_event_note({"record_label": "Normal", "events": []}) == ""
    assert record_event_note({"record_label": "Poor Quality", "events": []}) == ""
    n = record_event_note({"record_label": "CAS", "events": ev("Normal", "Coarse Crackle")})
    assert n.startswith("No continuous") and "crackle)" not in n
    n = record_event_note({"record_label": "CAS & DAS", "events": ev("Rhonchi")})
    assert n.startswith("No discontinuous (crackle) event")
    n = record_event_note({"record_label": "CAS & DAS", "events": []})
    assert "continuous (wheeze, stridor, rhonchi) or discontinuous (crackle)" in n
