"""Trust (issue 18): suggestions belong to their recording; nothing is saved without asking;
recovered edits are announced; model-made segments keep source and confidence in exports."""
from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from clinaudio_gui.core import Project, Segment, sidecar_path
from clinaudio_gui.io import read_annotations
from workday_helpers import LONG, SHORT, click_box_button, copy_recordings, modal_box

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def two(sprsound_dir, tmp_path):
    return copy_recordings(sprsound_dir, tmp_path / "data")


def _suggest(win, label="Normal", conf=0.62):
    win.add_suggestion_segments([Segment(0.5, 1.5, "Rhonchi", confidence=0.47)], record_label=label,
                                record_confidence=conf)


def test_suggestions_stay_with_their_recording(win, qtbot, two):
    a_path, b_path = two
    assert win.open_path(a_path.parent)
    assert win.current_path() == a_path
    _suggest(win)
    assert win.sugg_bar.isVisible() and "Normal" in win.sugg_label.text()
    assert win.open_path(b_path)
    b = win.current_annotations()
    before = (b.record_label, len(b), b.revision)
    # nothing of A's suggestions is offered on B, and "Accept all" cannot apply them
    assert not win.sugg_bar.isVisible()
    assert win.timeline.suggestions == []
    assert "Normal" not in win.sugg_label.text()
    win.accept_all_suggestions()
    assert (b.record_label, len(b), b.revision) == before
    # back on A, its suggestions are still there to accept
    assert win.open_path(a_path)
    assert len(win.timeline.suggestions) == 1 and win.sugg_bar.isVisible()
    a = win.current_annotations()
    win.accept_all_suggestions()
    assert a.record_label == "Normal"
    assert [s for s in a.segments if s.source == "model"][0].confidence == pytest.approx(0.47)


def test_late_classifier_result_never_lands_on_another_recording(qtbot, two):
    """Classify A in the real Classify panel, switch to B before the result arrives."""
    from clinaudio_gui.ui.qt_classify_panel import QtClassifyPanel
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    a_path, b_path = two
    mw = QtMainWindow(restore_layout=False)
    qtbot.addWidget(mw)
    mw.show()
    panel = mw.findChild(QtClassifyPanel)
    assert mw.open_path(a_path)
    assert panel.classify()
    assert mw.open_path(b_path)              # the user moves on while the model runs
    qtbot.waitUntil(lambda: panel.classify_button.isEnabled(), timeout=150_000)    # the result came back
    qtbot.wait(200)
    b = mw.current_annotations()
    assert mw.current_path() == b_path
    assert mw.timeline.suggestions == [] and not mw.sugg_bar.isVisible()
    rl = b.record_label
    mw.accept_all_suggestions()
    assert b.record_label == rl and not any(s.source == "model" for s in b.segments)


def test_switching_saves_nothing_and_keeps_undo_history(win, qtbot, two):
    a_path, b_path = two
    win.open_path(a_path)
    a = win.current_annotations()
    _suggest(win)
    win.accept_all_suggestions()                 # a model segment + record label, unsaved
    assert a.dirty
    win.open_path(b_path)
    assert not sidecar_path(a_path).exists(), "switching recordings must not save silently"
    assert a_path in win.unsaved_recordings()
    # the edits are safe in the autosave meanwhile
    qtbot.waitUntil(lambda: Project(a_path.parent).autosave_path(a_path).exists(), timeout=5000)
    win.open_path(a_path)
    a2 = win.current_annotations()
    assert a2.record_label == "Normal" and a2.dirty
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)   # undo history kept
    assert a2.record_label == "CAS & DAS" and not any(s.source == "model" for s in a2.segments)


def _edit(win):
    a = win.current_annotations()
    a.add(Segment(0.2, 0.6, "Wheeze", source="model", confidence=0.83))
    return a


def test_close_asks_save_discard_cancel(qtbot, two):
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    a_path, b_path = two
    w = QtMainWindow(load_panels=False)
    qtbot.addWidget(w)
    w.show()
    w.open_path(a_path)
    _edit(w)
    w.open_path(b_path)
    _edit(w)
    assert not w.close()                     # not closed: it asks first
    box = modal_box(qtbot, w)
    assert a_path.name in box.text() + box.informativeText() and b_path.name in box.text() + box.informativeText()
    click_box_button(qtbot, box, QMessageBox.StandardButton.Cancel)
    assert w.isVisible() and not sidecar_path(a_path).exists()
    # Save writes both recordings, with the model segment's source and confidence
    w.close()
    click_box_button(qtbot, modal_box(qtbot, w), QMessageBox.StandardButton.Save)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    for p in (a_path, b_path):
        saved = read_annotations(sidecar_path(p))
        m = [s for s in saved.segments if s.source == "model"]
        assert len(m) == 1 and m[0].confidence == pytest.approx(0.83)
        assert not Project(p.parent).autosave_path(p).exists()


def test_close_discard_writes_nothing_and_drops_the_autosave(qtbot, two):
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    a_path, _ = two
    w = QtMainWindow(load_panels=False)
    qtbot.addWidget(w)
    w.show()
    w.open_path(a_path)
    _edit(w)
    auto = Project(a_path.parent).autosave_path(a_path)
    qtbot.waitUntil(auto.exists, timeout=5000)
    w.close()
    click_box_button(qtbot, modal_box(qtbot, w), QMessageBox.StandardButton.Discard)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    assert not sidecar_path(a_path).exists() and not auto.exists()



def test_undo_back_to_saved_is_clean_no_prompt_no_autosave(qtbot, two):
    """Ctrl+Z back to the saved state: no unsaved mark in the title or the dataset, the autosave
    of the undone edit is dropped (it would bring the edit back on the next open), and closing
    asks nothing."""
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    a_path, _ = two
    w = QtMainWindow(load_panels=False)
    qtbot.addWidget(w)
    w.show()
    w.open_path(a_path)
    n = len(w.current_annotations())
    assert not w.windowTitle().startswith("\u2022")
    _edit(w)
    assert w.windowTitle().startswith("\u2022") and w.unsaved_recordings() == [a_path]
    auto = Project(a_path.parent).autosave_path(a_path)
    qtbot.waitUntil(auto.exists, timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    a = w.current_annotations()
    assert len(a) == n and not a.dirty
    assert not w.windowTitle().startswith("\u2022") and w.unsaved_recordings() == []
    qtbot.waitUntil(lambda: not auto.exists(), timeout=5000)
    w.close()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)     # no Save / Discard box
    assert not sidecar_path(a_path).exists()

def test_revert_discards_the_current_recordings_edits(win, qtbot, two):
    a_path, _ = two
    win.open_path(a_path)
    a = _edit(win)
    n = len(a)
    win.act_revert.trigger()
    click_box_button(qtbot, modal_box(qtbot, win), QMessageBox.StandardButton.Discard)
    a2 = win.current_annotations()
    assert len(a2) == n - 1 and not a2.dirty and not sidecar_path(a_path).exists()


def test_startup_notice_lists_recovered_recordings(win, qtbot, two):
    a_path, b_path = two
    proj = Project(a_path.parent)
    from clinaudio_gui.io import read_sprsound
    ann = read_sprsound(b_path.with_suffix(".json"))
    ann.add(Segment(12.0, 12.5, "Wheeze"))
    proj.autosave(b_path, ann)                     # what a crashed session leaves behind
    assert win.open_path(a_path.parent)
    notice = win.recovery_notice
    assert notice.isVisible()
    assert b_path.name in notice.text() and a_path.name not in notice.text()


def test_model_segments_keep_source_and_confidence_in_exports(win, qtbot, two, tmp_path):
    a_path, _ = two
    win.open_path(a_path)
    _edit(win)
    for fmt, name in (("csv", "x.csv"), ("clinaudio", "x.clinaudio.json")):
        out = tmp_path / name
        assert win.export_annotations(out, fmt)
        back = read_annotations(out)
        m = [s for s in back.segments if s.source == "model"]
        assert len(m) == 1 and m[0].confidence == pytest.approx(0.83), fmt
        hum = [s for s in back.segments if s.source == "human"]
        assert len(hum) == 4, fmt
    rows = list(csv.DictReader(open(tmp_path / "x.csv")))
    assert [r["source"] for r in rows].count("model") == 1
    # a format without a place for them says so instead of dropping them silently
    assert win.export_annotations(tmp_path / "x.TextGrid", "textgrid")
    msg = win.statusBar().currentMessage()
    assert "model" in msg and "source" in msg and "confidence" in msg


def test_batch_augmentation_keeps_model_provenance(two, tmp_path):
    """The augmentation batch export writes the source's own format: the native sidecar keeps them."""
    from clinaudio_gui.augment.batch import run_batch
    from clinaudio_gui.augment.recipes import load_recipe
    from clinaudio_gui.io import read_sprsound
    a_path, b_path = two
    b_path.unlink()
    b_path.with_suffix(".json").unlink()
    ann = read_sprsound(a_path.with_suffix(".json"))
    ann.add(Segment(1.0, 8.0, "Wheeze", source="model", confidence=0.83))
    Project(a_path.parent).save(a_path, ann)
    out = tmp_path / "aug"
    run_batch(load_recipe("naa"), a_path.parent, out, per_file=2, seed=3, workers=1)
    sides = sorted(out.rglob("*.clinaudio.json"))
    assert len(sides) == 2
    for side in sides:
        m = [s for s in read_annotations(side).segments if s.source == "model"]
        assert len(m) == 1 and m[0].confidence == pytest.approx(0.83), side
