"""Light and dark themes (Fusion palette + pyqtgraph colours)."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = {
    "dark": {"window": "#23262b", "base": "#1b1d21", "alt": "#262a30", "text": "#e3e6ea", "button": "#2d3137",
             "highlight": "#3d7bd9", "plot_bg": "#15171a", "axis": "#aab2bd", "mid": "#3a3f46",
             "disabled": "#8b929b"},
    "light": {"window": "#f3f4f6", "base": "#ffffff", "alt": "#f0f2f5", "text": "#1d2125", "button": "#e8eaee",
              "highlight": "#2f6fd0", "plot_bg": "#ffffff", "axis": "#454b52", "mid": "#c9cdd3",
              "disabled": "#6f757d"},
}


def apply_theme(name: str, window=None) -> None:
    t = THEMES.get(name, THEMES["dark"])
    app = QApplication.instance()
    if app is None:
        return
    app.setStyle("Fusion")
    p = QPalette()
    c = QColor
    p.setColor(QPalette.ColorRole.Window, c(t["window"]))
    p.setColor(QPalette.ColorRole.WindowText, c(t["text"]))
    p.setColor(QPalette.ColorRole.Base, c(t["base"]))
    p.setColor(QPalette.ColorRole.AlternateBase, c(t["alt"]))
    p.setColor(QPalette.ColorRole.Text, c(t["text"]))
    p.setColor(QPalette.ColorRole.Button, c(t["button"]))
    p.setColor(QPalette.ColorRole.ButtonText, c(t["text"]))
    p.setColor(QPalette.ColorRole.Highlight, c(t["highlight"]))
    p.setColor(QPalette.ColorRole.HighlightedText, c("#ffffff"))
    p.setColor(QPalette.ColorRole.ToolTipBase, c(t["base"]))
    p.setColor(QPalette.ColorRole.ToolTipText, c(t["text"]))
    p.setColor(QPalette.ColorRole.PlaceholderText, c(t["axis"]))
    p.setColor(QPalette.ColorRole.Mid, c(t["mid"]))
    # disabled text stays readable (contrast >= 3:1 on the button face), only dimmer than enabled text
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, c(t["disabled"]))
    app.setPalette(p)
    app.setStyleSheet(
        f"QDockWidget::title {{ background: {t['button']}; padding: 4px; }}"
        f"QLabel#infoBar {{ font-size: 10pt; }}"
        f"QToolBar {{ border: none; spacing: 4px; }}")
    if window is not None and hasattr(window, "timeline"):
        tl = window.timeline
        tl.glw.setBackground(t["plot_bg"])
        for plot in (tl.overview, tl.wave, tl.spec, tl.sugg):
            for ax in ("left", "bottom"):
                a = plot.getAxis(ax)
                a.setPen(pg.mkPen(t["axis"]))
                a.setTextPen(pg.mkPen(t["axis"]))
        tl.wave_curve.setPen(pg.mkPen("#5aa9ff" if name == "dark" else "#1f5fb4", width=1))
        tl.overview_curve.setPen(pg.mkPen("#8d96a0" if name == "dark" else "#6b7480", width=1))
