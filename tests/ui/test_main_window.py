"""The labeling workflow on a real SPRSound recording, with real widgets and real mouse / key events."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt

from clinaudio_gui.core import sidecar_path
from clinaudio_gui.io import read_sprsound
from ui_helpers import drag, view_to_widget, wait_drawn

pytestmark = pytest.mark.timeout(120)


def test_open_shows_recording_and_its_annotations(win, qtbot, sprsound_copy):
    with qtbot.waitSignal(win.recordingChanged, timeout=10000):
        assert win.open_path(sprsound_copy)
    wait_drawn(qtbot, win)
    expected = read_sprsound(sprsound_copy.with_suffix(".json"))
    a = win.current_annotations()
    assert [(s.start_s, s.end_s, s.label) for s in a.segments] == \
        [(s.start_s, s.end_s, s.label) for s in expected.segments]
    assert a.record_label == expected.record_label == "CAS & DAS"
    assert win.current_path() == sprsound_copy.resolve()
    rec = win.current_recording()
    assert rec.sample_rate_hz == 8000 and abs(rec.duration_s - 9.22) < 0.05
    assert win.project().folder == sprsound_copy.parent.resolve()
    tl = win.timeline
    assert tl.visible_range() == pytest.approx((0.0, rec.duration_s), abs=0.05)
    # every visible spectrogram tile is drawn at the view's level, with fixed levels
    assert tl._images and all(key[0] == tl._level for key in tl._images)
    # segment items exist in both views
    assert set(tl._seg_items) == {s.id for s in a.segments}
    assert win.segment_table.model.rowCount() == len(a)
    assert win.record_box.currentText() == "CAS & DAS"


def _new_segment_by_mouse(win, qtbot, t0, t1, *, view="wave", shift=False, y0=None, y1=None):
    tl = win.timeline
    vb = tl.wave_vb if view == "wave" else tl.spec_vb
    ymid = 0.0 if view == "wave" else 1000.0
    p0 = view_to_widget(vb, tl.glw, t0, ymid if y0 is None else y0)
    p1 = view_to_widget(vb, tl.glw, t1, ymid if y1 is None else y1)
    before = {s.id for s in win.current_annotations().segments}
    mods = Qt.KeyboardModifier.ShiftModifier if shift else None
    drag(tl.glw.viewport(), p0, p1, modifiers=mods)
    new = [s for s in win.current_annotations().segments if s.id not in before]
    assert len(new) == 1, "one drag creates one segment"
    return new[0]


def test_mouse_segment_key_label_undo_redo_save_reopen(win, qtbot, sprsound_copy):
    win.open_path(sprsound_copy)
    wait_drawn(qtbot, win)
    a = win.current_annotations()
    n0 = len(a)
    seg = _new_segment_by_mouse(win, qtbot, 3.0, 3.8)
    assert seg.start_s == pytest.approx(3.0, abs=0.03) and seg.end_s == pytest.approx(3.8, abs=0.03)
    assert win.timeline.selected_id == seg.id
    # label it with a key: 3 = Wheeze in the SPRSound event schema
    qtbot.keyClick(win, Qt.Key.Key_3)
    assert a.get(seg.id).label == "Wheeze"
    assert win.selection_range_s() == pytest.approx((seg.start_s, seg.end_s))
    # undo the label, undo the segment, redo both
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert a.get(seg.id).label == seg.label
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert a.index_of(seg.id) is None and len(a) == n0
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert a.get(seg.id).label == "Wheeze" and len(a) == n0 + 1
    # save (Ctrl+S) writes the sidecar
    qtbot.keyClick(win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    side = sidecar_path(sprsound_copy)
    assert side.exists() and not a.dirty
    win.close()

    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    w2 = QtMainWindow(load_panels=False)
    qtbot.addWidget(w2)
    w2.show()
    w2.open_path(sprsound_copy)
    found = [s for s in w2.current_annotations().segments if s.id == seg.id]
    assert found and found[0].label == "Wheeze"
    assert found[0].start_s == pytest.approx(seg.start_s) and found[0].end_s == pytest.approx(seg.end_s)
    assert len(w2.current_annotations()) == n0 + 1
    w2.close()


def test_edge_drag_is_one_undo_step_and_delete(win, qtbot, sprsound_copy):
    win.open_path(sprsound_copy)
    wait_drawn(qtbot, win)
    a = win.current_annotations()
    seg = a.sorted_segments()[0]          # Fine Crackle 1.684-2.772
    tl = win.timeline
    p0 = view_to_widget(tl.wave_vb, tl.glw, seg.end_s, 0.0)
    p1 = view_to_widget(tl.wave_vb, tl.glw, seg.end_s + 0.5, 0.0)
    drag(tl.glw.viewport(), p0, p1, steps=12)
    moved = a.get(seg.id)
    assert moved.start_s == pytest.approx(seg.start_s, abs=1e-6)
    assert moved.end_s == pytest.approx(seg.end_s + 0.5, abs=0.03)
    a.undo()                                  # the whole drag is one step
    assert a.get(seg.id).end_s == pytest.approx(seg.end_s)
    tl.select(seg.id)
    qtbot.keyClick(win, Qt.Key.Key_Delete)
    assert a.index_of(seg.id) is None


def test_shift_drag_on_spectrogram_makes_a_box(win, qtbot, sprsound_copy):
    win.open_path(sprsound_copy)
    wait_drawn(qtbot, win)
    seg = _new_segment_by_mouse(win, qtbot, 4.0, 4.6, view="spec", shift=True, y0=300.0, y1=1500.0)
    assert seg.is_box
    assert seg.low_hz == pytest.approx(300.0, abs=40) and seg.high_hz == pytest.approx(1500.0, abs=40)


def test_export_and_reimport_every_format_from_the_menu(win, qtbot, sprsound_copy, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    from clinaudio_gui.io import FORMATS
    win.open_path(sprsound_copy)
    a = win.current_annotations()
    original = [(round(s.start_s, 3), round(s.end_s, 3), s.label) for s in a.sorted_segments()]
    assert set(win.export_actions) == set(FORMATS) == set(win.import_actions)
    for fmt in FORMATS:
        out = tmp_path / f"export_{fmt}{'.TextGrid' if fmt == 'textgrid' else '.json' if fmt == 'sprsound' else '.csv' if fmt == 'csv' else '.txt'}"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, _o=out, **k: (str(_o), "")))
        win.export_actions[fmt].trigger()
        assert out.exists() and out.stat().st_size > 0, fmt
        # wipe, then import through the menu
        with a.gesture("wipe"):
            for s in list(a.segments):
                a.remove(s.id)
        assert len(a) == 0
        monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, _o=out, **k: (str(_o), "")))
        win.import_actions[fmt].trigger()
        back = [(round(s.start_s, 3), round(s.end_s, 3), s.label) for s in a.sorted_segments()]
        assert [b[:2] for b in back] == [o[:2] for o in original], fmt
        if fmt not in ("icbhi", "hflung"):   # ICBHI and HF_Lung have their own fixed label vocabularies
            assert [b[2] for b in back] == [o[2] for o in original], fmt
        # import is one undo step
        a.undo()
        assert len(a) == 0
        a.undo()
        assert len(a) == len(original)


def test_suggestions_accept_and_reject(win, qtbot, sprsound_copy):
    from clinaudio_gui.core import Segment
    win.open_path(sprsound_copy)
    a = win.current_annotations()
    n0 = len(a)
    sugg = [Segment(0.2, 0.9, "Wheeze", confidence=0.8), Segment(2.9, 3.3, "Rhonchi", confidence=0.4)]
    win.add_suggestion_segments(sugg, record_label="CAS", record_confidence=0.7)
    assert win.timeline.sugg.isVisible()
    win.reject_suggestion(1)
    win.accept_suggestion(0)
    added = [s for s in a.segments if s.source == "model"]
    assert len(a) == n0 + 1 and added[0].label == "Wheeze" and added[0].confidence == 0.8


def test_undo_of_an_accept_puts_the_suggestion_back(win, qtbot, sprsound_copy):
    """Ctrl+Z after A: the segment leaves the annotations and the suggestion is back on its track,
    at its place; Ctrl+Shift+Z takes it off again. Accept all: one undo brings every suggestion and
    the record suggestion back. New suggestions forget what was accepted before."""
    from clinaudio_gui.core import Segment
    win.open_path(sprsound_copy)
    a = win.current_annotations()
    n0 = len(a)
    sugg = [Segment(0.2, 0.9, "Wheeze", confidence=0.8), Segment(2.9, 3.3, "Rhonchi", confidence=0.4),
            Segment(4.0, 4.6, "Fine Crackle", confidence=0.6)]
    win.add_suggestion_segments(sugg, record_label="CAS & DAS", record_confidence=0.7)
    win.setFocus()
    win.accept_suggestion(1)
    assert len(a) == n0 + 1 and [s.label for s in win.timeline.suggestions] == ["Wheeze", "Fine Crackle"]
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(a) == n0
    assert [s.label for s in win.timeline.suggestions] == ["Wheeze", "Rhonchi", "Fine Crackle"]
    assert win.timeline.suggestions[1].confidence == 0.4
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(a) == n0 + 1 and [s.label for s in win.timeline.suggestions] == ["Wheeze", "Fine Crackle"]
    # an undo of an ordinary edit does not touch the suggestions
    win.accept_all_suggestions()
    assert len(a) == n0 + 3 and win.timeline.suggestions == [] and a.record_label == "CAS & DAS"
    assert not win.sugg_bar.isVisibleTo(win)
    win.undo()
    assert len(a) == n0 + 1 and [s.label for s in win.timeline.suggestions] == ["Wheeze", "Fine Crackle"]
    assert win._suggestion_record[0] == "CAS & DAS" and win.sugg_bar.isVisibleTo(win)
    win.redo()
    assert len(a) == n0 + 3 and win.timeline.suggestions == []
    win.undo()
    win.add_suggestion_segments([Segment(6.0, 6.5, "Wheeze", confidence=0.9)])   # a new Detect
    win.undo()                            # reverts the first accept; the old suggestion stays gone
    assert len(a) == n0 and [s.label for s in win.timeline.suggestions] == ["Wheeze"]
    assert win.timeline.suggestions[0].start_s == 6.0


def test_dataset_folder_next_unlabeled(win, qtbot, sprsound_dir, tmp_path):
    import shutil
    names = sorted(p.name for p in sprsound_dir.glob("*.flac"))[:4]
    for i, n in enumerate(names):
        shutil.copy(sprsound_dir / n, tmp_path / n)
        if i == 1:   # only the second one has its annotation file
            shutil.copy(sprsound_dir / n.replace(".flac", ".json"), tmp_path / n.replace(".flac", ".json"))
    win.open_path(tmp_path)
    model = win.dataset.model
    qtbot.waitUntil(lambda: all(r.duration_s is not None for r in model.rows), timeout=10000)
    assert [r.status for r in model.rows] == ["unlabeled", "done", "unlabeled", "unlabeled"]
    assert win.current_path().name == names[0]
    qtbot.keyClick(win, Qt.Key.Key_PageDown)
    assert win.current_path().name == names[2]     # skips the labeled one
    qtbot.keyClick(win, Qt.Key.Key_PageUp)
    assert win.current_path().name == names[0]
    assert "1 done" in win.dataset.progress_label.text()


def test_bad_file_is_reported_and_window_survives(win, qtbot, tmp_path, sprsound_copy):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    assert win.open_path(sprsound_copy)
    assert not win.open_path(bad)
    assert "broken.wav" in win.statusBar().currentMessage()
    assert win.current_path() == sprsound_copy.resolve()    # still on the good recording


def test_segment_table_sort_click_jump_and_edit_note(win, qtbot, sprsound_copy):
    win.open_path(sprsound_copy)
    a = win.current_annotations()
    table = win.segment_table
    view = table.view
    view.sortByColumn(3, Qt.SortOrder.DescendingOrder)      # by label: Wheeze first
    wheeze = next(s for s in a.segments if s.label == "Wheeze")
    win.timeline.set_visible_range(0.0, 1.0)                 # the segment is off-screen
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(table.proxy.index(0, 0)).center())
    assert win.timeline.selected_id == wheeze.id
    t0, t1 = win.timeline.visible_range()
    assert t0 <= wheeze.start_s and wheeze.end_s <= t1       # jumped there
    note_idx = table.proxy.index(0, 6)
    view.scrollTo(note_idx)
    pos = view.visualRect(note_idx).center()
    for act in (qtbot.mousePress, qtbot.mouseRelease, qtbot.mouseDClick):   # a real double-click
        act(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    from PySide6.QtWidgets import QLineEdit
    editor = view.viewport().findChild(QLineEdit)
    assert editor is not None, "double-click opens the note editor"
    qtbot.keyClicks(editor, "check later")
    assert editor.text() == "check later"
    view.commitData(editor)          # what Enter does (the delegate commits the editor's text)
    assert [s.note for s in a.segments if s.note] == ["check later"]
    assert a.get(wheeze.id).note == "check later"
    assert table.proxy.data(note_idx) == "check later"
    a.undo()
    assert a.get(wheeze.id).note == ""


def test_record_label_theme_recent_files(win, qtbot, sprsound_copy):
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication
    win.open_path(sprsound_copy)
    a = win.current_annotations()
    i = win.record_box.findData("Poor Quality")
    win.record_box.setCurrentIndex(i)
    win.record_box.activated.emit(i)
    assert a.record_label == "Poor Quality"
    a.undo()
    assert a.record_label == "CAS & DAS" and win.record_box.currentText() == "CAS & DAS"
    win._set_theme("light")
    light = QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness()
    win._set_theme("dark")
    dark = QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness()
    assert light > 200 > 60 > dark
    assert str(sprsound_copy.resolve()) in [act.text() for act in win.recent_menu.actions()]


def test_corrupt_annotation_files_never_block_or_get_overwritten(win, qtbot, sprsound_copy):
    from clinaudio_gui.core import Segment
    # a corrupt SPRSound JSON next to the recording: the recording opens, the problem is named
    js = sprsound_copy.with_suffix(".json")
    js.write_text('{"record_annotation": "CAS", "event_annotation": [{"start": "x"')
    assert win.open_path(sprsound_copy)
    assert len(win.current_annotations()) == 0
    assert js.name in win.statusBar().currentMessage()
    win.current_annotations().add(Segment(1.0, 2.0, "Wheeze"))
    assert win.save()                                  # the sidecar is separate: fine
    assert js.read_text().startswith('{"record_annotation": "CAS", "event_annotation": [{"start": "x"')
    # now a corrupt sidecar: opens, but Save refuses to overwrite it
    side = sidecar_path(sprsound_copy)
    side.write_text("{ not json")
    assert win.open_path(sprsound_copy)
    assert side.name in win.statusBar().currentMessage()
    win.current_annotations().add(Segment(3.0, 4.0, "Wheeze"))
    assert not win.save()
    assert side.read_text() == "{ not json"
