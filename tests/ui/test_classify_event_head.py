"""The Classify panel's "model's view of your labels": with the bundled detector, every segment the
user labeled on the open recording is classified by the event head (Detector.event_probabilities),
in the real main window (offscreen Qt) on the example SPRSound recordings and their expert labels."""
import shutil

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from clinaudio_gui.core.segment import Segment
from clinaudio_gui.ui.qt_classify_panel import BUNDLED, QtClassifyPanel
from clinaudio_gui.ui.qt_label_view import ORDER

torch.set_num_threads(1)   # a shared 2-core machine
pytestmark = pytest.mark.timeout(300)

NAMES = ("40638274_9.7_1_p2_1801", "40638274_9.7_1_p3_1765", "40638274_9.7_1_p4_1777")


@pytest.fixture
def folder(examples_dir, tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    for name in NAMES:
        for suf in (".flac", ".json"):
            shutil.copy(examples_dir / (name + suf), d / (name + suf))
    shutil.copy(examples_dir / (NAMES[0] + ".flac"), d / "unlabeled.flac")   # the same sound, no labels
    return d


@pytest.fixture
def panel(qtbot, win):
    p = QtClassifyPanel(win)
    qtbot.addWidget(p)
    p.resize(360, 700)
    p.show()
    assert p.detector_combo.currentData() == BUNDLED
    return p


@pytest.fixture(scope="module")
def det():
    from clinaudio_gui.engine.detector.infer import load_detector
    return load_detector()


def _open(qtbot, win, path):
    assert win.open_path(path)
    qtbot.waitUntil(lambda: win.current_path() == path, timeout=20_000)


def _classify(qtbot, panel):
    with qtbot.waitSignal(panel.classified, timeout=200_000):
        assert panel.classify()


def _direct(det, rec, segs) -> np.ndarray:
    res = det.detect(rec.read(0.0, None), rec.sample_rate_hz, with_frames=True, with_sequence=True)
    return det.event_probabilities(res, [(s.start_s, s.end_s) for s in segs])


def test_rows_are_the_event_heads_view_of_the_expert_labels(qtbot, win, panel, folder, det):
    assert det.event_source == "head"
    agree = total = 0
    differ_seen = False
    for name in NAMES:
        path = folder / (name + ".flac")
        _open(qtbot, win, path)
        segs = [s for s in win.current_annotations().segments if s.source != "model"]
        assert segs, f"{name}: the expert labels did not load"
        _classify(qtbot, panel)
        view = panel.label_view
        rows = view.rows
        assert len(rows) == len(segs) == view.list.count() and not view.isHidden()
        expected = _direct(det, win.current_recording(), segs)
        by_id = {r["id"]: r for r in rows}
        assert set(by_id) == {s.id for s in segs}
        for s, p in zip(segs, expected):
            r = by_id[s.id]
            got = np.array([r["probabilities"][c] for c in det.event_classes])
            np.testing.assert_allclose(got, p, atol=1e-6)
            top = det.event_classes[int(np.argmax(p))]
            assert r["top"] == top and r["top_p"] == pytest.approx(float(p.max()), abs=1e-6)
            assert r["status"] == ("agree" if top == s.label else "differ")
            agree += top == s.label
            total += 1
        # the rows on screen: disagreements first and marked; the text names both labels
        assert [ORDER[r["status"]] for r in rows] == sorted(ORDER[r["status"]] for r in rows)
        for i, r in enumerate(rows):
            item = view.list.item(i)
            text = item.text()
            assert item.data(Qt.ItemDataRole.UserRole) == r["id"]
            assert f"yours: {r['label']}" in text and f"model: {r['top']} {r['top_p']:.2f}" in text
            assert f"{r['start_s']:.2f}–{r['end_s']:.2f} s" in text
            assert text.startswith("≠") == (r["status"] == "differ")
            assert (item.background().style() != Qt.BrushStyle.NoBrush) == (r["status"] == "differ")
            differ_seen |= r["status"] == "differ"
        # clicking a row selects that segment on the timeline and shows it
        last = view.list.item(len(rows) - 1)
        qtbot.mouseClick(view.list.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.list.visualItemRect(last).center())
        sid = rows[-1]["id"]
        assert win.timeline.selected_id == sid
        t0, t1 = win.timeline.visible_range()
        seg = win.current_annotations().get(sid)
        assert t0 <= seg.start_s and seg.end_s <= t1
        # Enter on a row does the same
        view.list.setFocus()
        view.list.setCurrentRow(0)
        qtbot.keyClick(view.list, Qt.Key.Key_Return)
        assert win.timeline.selected_id == rows[0]["id"]
    assert total == 11
    assert agree >= 6, f"the event head gave the expert's class to only {agree} of {total} events"
    print(f"event head agrees with the expert on {agree}/{total} events; a disagreement shown: {differ_seen}")


def test_no_labels_no_rows_and_an_unknown_label_gets_the_models_class(qtbot, win, panel, folder, det):
    _open(qtbot, win, folder / "unlabeled.flac")
    assert len(win.current_annotations()) == 0
    _classify(qtbot, panel)
    assert panel.last_result is not None and panel.last_result["label_view"] == []
    assert panel.label_view.list.count() == 0 and panel.label_view.isHidden()
    # a label outside the detector's 7 classes still gets the model's top class, marked "?"
    seg = win.current_annotations().add(Segment(1.684, 2.772, "Squawk"))
    _classify(qtbot, panel)
    (r,) = panel.label_view.rows
    p = _direct(det, win.current_recording(), [seg])[0]
    assert r["id"] == seg.id and r["status"] == "other"
    assert r["top"] == det.event_classes[int(np.argmax(p))]
    assert panel.label_view.list.item(0).text().startswith("?")


def test_switching_recordings_before_the_result_drops_the_rows(qtbot, win, panel, folder):
    _open(qtbot, win, folder / (NAMES[0] + ".flac"))
    assert panel.classify()
    # the user moves on (to another labeled recording) before the worker's result is delivered
    _open(qtbot, win, folder / (NAMES[1] + ".flac"))
    assert len(win.current_annotations()) > 0
    qtbot.waitUntil(lambda: panel.classify_button.isEnabled(), timeout=200_000)   # the result came back
    qtbot.wait(200)
    assert panel.last_result is None and "dropped" in panel.result_label.text()
    assert panel.label_view.rows == [] and panel.label_view.list.count() == 0 and panel.label_view.isHidden()
