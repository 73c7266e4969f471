"""Keys, feedback and listening through a working day (issue 18): number keys with nothing
selected, the toolbar after a delete, Ctrl+D, the GAN export folder, warm audio, and a segment
played looped at 0.5x from the segment table (to the virtual speaker)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from workday_helpers import LONG, SHORT, copy_recordings

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def short(sprsound_dir, tmp_path):
    return copy_recordings(sprsound_dir, tmp_path / "data", (SHORT, LONG))[0]


def test_number_key_without_selection_says_what_it_did(win, qtbot, short):
    win.open_path(short)
    win.timeline.select(None)
    qtbot.keyClick(win, Qt.Key.Key_3)
    msg = win.statusBar().currentMessage()
    assert "no segment selected" in msg and "Wheeze" in msg, msg
    assert win.label_box.currentData() == "Wheeze"
    assert win.current_annotations().revision == 0       # nothing edited


def test_toolbar_forgets_a_deleted_segments_selection(win, qtbot, short):
    win.open_path(short)
    a = win.current_annotations()
    seg = a.sorted_segments()[0]
    win.segment_table.segmentActivated.emit(seg.id)
    win.timeline.select(seg.id)
    assert "sel" in win.time_label.text()
    qtbot.keyClick(win, Qt.Key.Key_Delete)
    assert a.index_of(seg.id) is None
    assert "sel" not in win.time_label.text()
    assert win.selection_range_s() is None
    assert not win.segment_table.view.selectionModel().hasSelection()


def test_ctrl_d_says_done_and_the_list_shows_it(win, qtbot, short):
    win.open_path(short.parent)
    qtbot.waitUntil(lambda: "scanning" not in win.dataset.progress_label.text(), timeout=10000)
    qtbot.keyClick(win, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    msg = win.statusBar().currentMessage()
    assert "done" in msg and short.name in msg, msg
    assert win.current_annotations().metadata.get("status") == "done"
    m = win.dataset.model
    assert next(r for r in m.rows if r.path == short).status == "done"
    # pressing it again says it already is, and nothing else happens
    rev = win.current_annotations().revision
    qtbot.keyClick(win, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert "already" in win.statusBar().currentMessage()
    assert win.current_annotations().revision == rev


def test_gan_export_defaults_outside_the_dataset_folder(qtbot, short, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from clinaudio_gui.ui.qt_gan_panel import QtGanPanel
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    w = QtMainWindow(restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    w.open_path(short.parent)
    gan = w.findChild(QtGanPanel)
    asked = {}

    def fake(parent, caption="", directory="", *a, **k):
        asked["dir"] = directory
        return ""
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(fake))
    gan._export_dialog()
    d = Path(asked["dir"]).resolve()
    data = short.parent.resolve()
    assert asked["dir"] and d != data and data not in d.parents, d


def test_audio_is_warmed_in_the_background(win, qtbot):
    """First playback must not wait for the time-stretch / resampler start-up (about 2 s)."""
    qtbot.waitUntil(win.player.is_warm, timeout=60000)
    assert "librosa" in sys.modules and "scipy.signal" in sys.modules


CHILD = r"""
import json, sys, time
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
app = QApplication([])
from clinaudio_gui.ui.qt_main_window import QtMainWindow
win = QtMainWindow(load_panels=False)
win.resize(1280, 800)
win.show()
assert win.open_path(sys.argv[1])
p = win.player
p.set_device("pulse")
t0 = time.monotonic()
while not p.is_warm() and time.monotonic() - t0 < 60:
    app.processEvents(); time.sleep(0.01)
table = win.segment_table
a = win.current_annotations()
seg = next(s for s in a.segments if s.label == "Wheeze")
row = table.proxy.mapFromSource(table.model.index(table.model.row_of(seg.id), 0)).row()
table.view.selectRow(row)
QTest.mouseClick(table.loop_button, Qt.MouseButton.LeftButton)
pos = []
p.positionChanged.connect(pos.append)
t0 = time.monotonic()
def wraps():
    return sum(1 for x, y in zip(pos, pos[1:]) if y < x - 0.2)
while time.monotonic() - t0 < 12.0 and (wraps() < 2 or time.monotonic() - t0 < 3.0):
    app.processEvents(); time.sleep(0.005)
print(json.dumps({"seg": [seg.start_s, seg.end_s], "speed": p.speed, "loop": p.loop, "playing": p.is_playing(),
                  "speed_box": win.speed_box.currentData(), "loop_action": win.act_loop.isChecked(),
                  "pos": pos}), flush=True)
p.stop()
"""


@pytest.mark.audio
def test_segment_table_plays_a_segment_looped_at_half_speed(pulse_server, short):
    r = subprocess.run([sys.executable, "-c", CHILD, str(short)], capture_output=True, text=True, cwd=REPO,
                       env=dict(os.environ, QT_QPA_PLATFORM="offscreen"), timeout=100)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("{")), None)
    assert line, r.stdout + r.stderr
    out = json.loads(line)
    s0, s1 = out["seg"]
    assert out["playing"] and out["loop"] and out["loop_action"]
    assert out["speed"] == 0.5 and out["speed_box"] == 0.5
    pos = out["pos"]
    assert len(pos) > 30
    assert all(s0 - 0.05 <= t <= s1 + 0.05 for t in pos), (min(pos), max(pos), s0, s1)
    wraps = sum(1 for x, y in zip(pos, pos[1:]) if y < x - 0.2)
    assert wraps >= 2, wraps        # 0.6 s at 0.5x = 1.2 s a turn: 2 turns well within 12 s
