"""The dataset list through a working day (issue 18): broken files, new files, live counts,
patient context (patient, age, sex, chest location), grouping and label filters, reopening."""
from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import Qt

from clinaudio_gui.core import Segment
from workday_helpers import LONG, SHORT, THIRD, copy_recordings

pytestmark = pytest.mark.timeout(120)


def _scanned(panel):
    return "scanning" not in panel.progress_label.text() and panel.model.rowCount() > 0


def _col(panel, name):
    m = panel.model
    heads = [m.headerData(i, Qt.Orientation.Horizontal) for i in range(m.columnCount())]
    assert name in heads, heads
    return heads.index(name)


def _cell(panel, path, name):
    m = panel.model
    r = next(i for i, row in enumerate(m.rows) if row.path.name == path.name)
    return m.data(m.index(r, _col(panel, name)))


def test_broken_file_is_listed_as_broken_and_the_scan_finishes(win, qtbot, sprsound_dir, tmp_path):
    folder = tmp_path / "data"
    copy_recordings(sprsound_dir, folder, (SHORT, LONG))
    (folder / "0000_broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt junk")
    (folder / "zzz_empty.flac").write_bytes(b"")
    win.open_path(folder)
    panel = win.dataset
    qtbot.waitUntil(lambda: _scanned(panel), timeout=10000)
    text = panel.progress_label.text()
    assert "2 broken" in text and "0 unlabeled" in text and "of 4" in text, text
    assert _cell(panel, folder / "0000_broken.wav", "status") == "broken"
    # opening the folder skipped the broken file and opened a readable one
    assert win.current_path() is not None and win.current_path().name == SHORT + ".flac"


def test_new_and_removed_files_appear_without_reopening(win, qtbot, sprsound_dir, tmp_path):
    folder = tmp_path / "data"
    copy_recordings(sprsound_dir, folder, (SHORT,))
    win.open_path(folder)
    panel = win.dataset
    qtbot.waitUntil(lambda: _scanned(panel), timeout=10000)
    assert panel.model.rowCount() == 1
    copy_recordings(sprsound_dir, folder, (LONG, THIRD))
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3 and _scanned(panel), timeout=10000)
    assert _cell(panel, folder / (LONG + ".flac"), "status") == "done"
    (folder / (THIRD + ".flac")).unlink()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=10000)


def test_counts_follow_edits_before_saving(win, qtbot, sprsound_dir, tmp_path):
    folder = tmp_path / "data"
    copy_recordings(sprsound_dir, folder, (SHORT,), with_json=False)
    win.open_path(folder)
    panel = win.dataset
    qtbot.waitUntil(lambda: _scanned(panel), timeout=10000)
    rec = folder / (SHORT + ".flac")
    assert _cell(panel, rec, "status") == "unlabeled"
    win.current_annotations().add(Segment(1.0, 1.5, "Wheeze"))
    qtbot.waitUntil(lambda: _cell(panel, rec, "events") == "1", timeout=2000)    # follows within a moment
    assert _cell(panel, rec, "status") == "in progress"
    assert "1 in progress" in panel.progress_label.text()
    assert panel.model.row_of(rec).unsaved
    win.current_annotations().undo()
    qtbot.waitUntil(lambda: _cell(panel, rec, "events") == "0", timeout=2000)


def test_patient_context_columns(win, qtbot, sprsound_dir, icbhi_dir, tmp_path):
    folder = tmp_path / "data"
    copy_recordings(sprsound_dir, folder, (SHORT, LONG))
    shutil.copy(icbhi_dir / "104_1b1_Al_sc_Litt3200.wav", folder)
    shutil.copy(icbhi_dir / "104_1b1_Al_sc_Litt3200.txt", folder)
    win.open_path(folder)
    panel = win.dataset
    qtbot.waitUntil(lambda: _scanned(panel), timeout=10000)
    short = folder / (SHORT + ".flac")
    assert [_cell(panel, short, c) for c in ("patient", "age", "sex", "location")] == \
        ["40638274", "9.7", "F", "left lateral"]
    long_ = folder / (LONG + ".flac")
    assert [_cell(panel, long_, c) for c in ("patient", "age", "sex", "location")] == \
        ["40794825", "4.2", "M", "left posterior"]
    icbhi = folder / "104_1b1_Al_sc_Litt3200.wav"
    assert [_cell(panel, icbhi, c) for c in ("patient", "location")] == ["104", "left anterior"]
    # the name filter also finds a patient id
    panel.filter_edit.setText("40794825")
    assert panel.shown_paths() == [long_.resolve()]


def test_group_by_patient_and_filter_by_labels(win, qtbot, sprsound_dir, tmp_path):
    folder = tmp_path / "data"
    stems = ("40845795_3.6_0_p1_453", "40845795_3.6_0_p2_450", "40933046_3.4_0_p1_801", "40933046_3.4_0_p1_805")
    copy_recordings(sprsound_dir, folder, stems)
    win.open_path(folder)
    panel = win.dataset
    qtbot.waitUntil(lambda: _scanned(panel), timeout=10000)
    panel.view.sortByColumn(_col(panel, "s"), Qt.SortOrder.AscendingOrder)
    patients = [p.name.split("_")[0] for p in panel.shown_paths()]
    assert patients == ["40845795", "40933046", "40845795", "40933046"]     # by duration: mixed
    panel.group_box.setChecked(True)
    patients = [p.name.split("_")[0] for p in panel.shown_paths()]
    assert patients == ["40845795", "40845795", "40933046", "40933046"]
    # within a patient, still by duration
    assert [p.name for p in panel.shown_paths()][:2] == [stems[0] + ".flac", stems[1] + ".flac"]
    # PgDn follows the grouped order
    win.open_path(panel.shown_paths()[0])
    qtbot.keyClick(win, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    assert win.current_path() == panel.shown_paths()[1]


def test_filter_by_event_label_and_record_label(win, qtbot, sprsound_dir, tmp_path):
    folder = tmp_path / "data"
    short, long_, third = copy_recordings(sprsound_dir, folder, (SHORT, LONG, THIRD))
    win.open_path(folder)
    panel = win.dataset
    qtbot.waitUntil(lambda: _scanned(panel), timeout=10000)
    ev = panel.event_filter
    assert ev.findText("Wheeze") >= 0 and ev.findText("Fine Crackle") >= 0
    ev.setCurrentIndex(ev.findText("Wheeze"))
    assert set(panel.shown_paths()) == {short, third}
    rf = panel.record_filter
    rf.setCurrentIndex(rf.findText("CAS"))
    assert panel.shown_paths() == [third]          # exactly CAS, not "CAS & DAS"
    ev.setCurrentIndex(0)
    rf.setCurrentIndex(rf.findText("Normal"))
    assert panel.shown_paths() == [long_]


def test_reopening_returns_to_the_last_recording(qtbot, sprsound_dir, tmp_path):
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    folder = tmp_path / "data"
    _, long_, _ = copy_recordings(sprsound_dir, folder, (SHORT, LONG, THIRD))
    w = QtMainWindow(load_panels=False)
    qtbot.addWidget(w)
    w.show()
    w.open_path(folder)
    w.open_path(long_)
    w.close()
    w2 = QtMainWindow(load_panels=False)
    qtbot.addWidget(w2)
    w2.show()
    assert w2.restore_last_session()
    assert w2.current_path() == long_
    assert w2.dataset.model.rowCount() == 3          # in its folder, not alone
