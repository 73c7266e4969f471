"""UI test helpers: isolated QSettings, a copied SPRSound recording, real mouse drags on a view."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

SPRSOUND_NAME = "40638274_9.7_1_p2_1801"   # 9.2 s, 8 kHz, CAS & DAS, 4 events


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path_factory, monkeypatch):
    """Each test gets its own QSettings store (recent files, theme...), never the user's."""
    from PySide6.QtCore import QSettings
    d = tmp_path_factory.mktemp("qsettings")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(d))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(d))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(d))
    yield d


@pytest.fixture
def sprsound_copy(sprsound_dir, tmp_path) -> Path:
    """A real SPRSound recording + its JSON, copied so the test may write sidecars beside it."""
    folder = tmp_path / "data"
    folder.mkdir()
    for suf in (".flac", ".json"):
        shutil.copy(sprsound_dir / (SPRSOUND_NAME + suf), folder / (SPRSOUND_NAME + suf))
    return folder / (SPRSOUND_NAME + ".flac")


def wait_drawn(qtbot, win, timeout_ms: int = 20000) -> None:
    tl = win.timeline
    qtbot.waitUntil(lambda: tl.is_fully_drawn() and tl.overview_complete(), timeout=timeout_ms)


def view_to_widget(plot_vb, glw, t_s: float, y: float):
    from PySide6.QtCore import QPointF
    scene = plot_vb.mapViewToScene(QPointF(t_s, y))
    return glw.mapFromScene(scene)


def drag(widget, p0, p1, *, modifiers=None, steps: int = 8) -> None:
    """A real press-move-release sequence (QTest.mouseMove carries no buttons, so send events)."""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication
    mods = modifiers if modifiers is not None else Qt.KeyboardModifier.NoModifier
    left = Qt.MouseButton.LeftButton

    def send(kind, p, button, buttons):
        pf = QPointF(p)
        g = QPointF(widget.mapToGlobal(QPoint(int(p.x()), int(p.y()))))
        QApplication.sendEvent(widget, QMouseEvent(kind, pf, g, button, buttons, mods))
        QApplication.processEvents()

    from PySide6.QtCore import QEvent
    send(QEvent.Type.MouseMove, p0, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    send(QEvent.Type.MouseButtonPress, p0, left, left)
    for i in range(1, steps + 1):
        f = i / steps
        p = QPointF(p0.x() + (p1.x() - p0.x()) * f, p0.y() + (p1.y() - p0.y()) * f)
        send(QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, left)
        time.sleep(0.01)
    send(QEvent.Type.MouseButtonRelease, p1, left, Qt.MouseButton.NoButton)
