"""Helpers for the UI tests: wait for a fully drawn window, real mouse drags on a pyqtgraph view."""
from __future__ import annotations

import time


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
