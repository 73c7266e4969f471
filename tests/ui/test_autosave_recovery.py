"""Autosave within 2 s of each edit; after kill -9 the reopened recording has every autosaved edit."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clinaudio_gui.core import Project

pytestmark = pytest.mark.timeout(120)

CHILD = r"""
import os, sys, time
from PySide6.QtWidgets import QApplication
app = QApplication([])
from clinaudio_gui.core import Segment
from clinaudio_gui.ui.qt_main_window import QtMainWindow
win = QtMainWindow(load_panels=False)
win.show()
assert win.open_path(sys.argv[1])
a = win.current_annotations()
def spin(seconds):
    t = time.monotonic()
    while time.monotonic() - t < seconds:
        app.processEvents()
        time.sleep(0.01)
spin(0.3)
for i, line in enumerate(sys.stdin):
    start = float(line)
    seg = Segment(start, start + 0.4, "Wheeze", note=f"edit {i}")
    a.add(seg)
    win.timeline.select(seg.id)
    win.apply_label_key("6")          # Fine Crackle
    print("EDITED", seg.id, time.time(), flush=True)
    spin(0.05)
    # keep the event loop running until the parent kills us
    import select
    while not select.select([sys.stdin], [], [], 0)[0]:
        spin(0.05)
"""


def _autosave_segments(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text())["segments"]
    except (OSError, ValueError, KeyError):
        return []


def test_autosave_and_recovery_after_sigkill(sprsound_copy, qtbot, isolated_qsettings):
    project = Project(sprsound_copy.parent)
    auto = project.autosave_path(sprsound_copy)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(isolated_qsettings))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(sprsound_copy)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             cwd=Path(__file__).resolve().parents[2])
    ids, delays = [], []
    try:
        for start in (0.5, 3.1):
            child.stdin.write(f"{start}\n")
            child.stdin.flush()
            line = child.stdout.readline()
            assert line.startswith("EDITED"), line + child.stderr.read()
            _tag, sid, t_edit = line.split()
            ids.append(sid)
            # the autosave must hold this edit (labelled by key) within 2 s of it
            while time.time() - float(t_edit) < 5.0:
                segs = {s["id"]: s for s in _autosave_segments(auto)}
                if sid in segs and segs[sid]["label"] == "Fine Crackle":
                    break
                time.sleep(0.02)
            delays.append(time.time() - float(t_edit))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    assert max(delays) < 2.0, f"autosave took {delays}"
    assert not (sprsound_copy.parent / (sprsound_copy.name.replace('.flac', '.clinaudio.json'))).exists()
    assert [r.audio_path for r in project.pending_recovery()] == [sprsound_copy.resolve()]

    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    win = QtMainWindow(load_panels=False)
    qtbot.addWidget(win)
    win.show()
    assert win.open_path(sprsound_copy)
    a = win.current_annotations()
    got = {s.id: s for s in a.segments}
    for sid in ids:
        assert sid in got and got[sid].label == "Fine Crackle"
    assert len(a) == 4 + 2          # the 4 events of the SPRSound file + the 2 edits
    assert a.dirty                  # restored, not yet saved
    assert "autosave" in win.statusBar().currentMessage()
    win.close()
