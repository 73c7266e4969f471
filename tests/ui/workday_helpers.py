"""Helpers for the clinician's-working-day tests (tests/ui/test_workday_*.py)."""
from __future__ import annotations

import shutil
from pathlib import Path

SHORT = "40638274_9.7_1_p2_1801"    # 9.2 s, CAS & DAS, 4 events
LONG = "40794825_4.2_0_p1_689"      # 15.36 s, Normal, 7 events (two after 9.2 s)
THIRD = "40638274_9.7_1_p3_1765"    # 9.2 s, CAS, 3 events (same patient as SHORT)


def copy_recordings(src: Path, dst: Path, stems=(SHORT, LONG), *, with_json=True) -> list[Path]:
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for stem in stems:
        shutil.copy(src / (stem + ".flac"), dst / (stem + ".flac"))
        if with_json:
            shutil.copy(src / (stem + ".json"), dst / (stem + ".json"))
        out.append((dst / (stem + ".flac")).resolve())
    return out


def modal_box(qtbot, window, timeout_ms: int = 5000):
    """The message box ``window`` shows (window-modal, non-blocking), once it is visible."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    def find():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QMessageBox) and w.isVisible() and w.parentWidget() is window:
                return w
        return None
    qtbot.waitUntil(lambda: find() is not None, timeout=timeout_ms)
    return find()


def click_box_button(qtbot, box, which) -> None:
    from PySide6.QtCore import Qt
    btn = box.button(which)
    assert btn is not None, f"the box has no {which} button"
    qtbot.mouseClick(btn, Qt.MouseButton.LeftButton)
