"""A one-line label that elides its text instead of widening the window (full text in the tooltip).

Accepts plain text or simple rich text (``<b>``, ``&nbsp;``): the markup is kept when it fits
and dropped when the text has to be elided, so a long file name or suggestion never pushes the
window past the screen.
"""
from __future__ import annotations

import html
import re

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy

_TAG = re.compile(r"<[^>]+>")


def plain_text(rich: str) -> str:
    return html.unescape(_TAG.sub("", rich))


class QtElidedLabel(QLabel):
    def __init__(self, text: str = "", parent=None, *, min_width_px: int = 60):
        super().__init__(parent)
        self._full = ""
        self._min_w = min_width_px
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        self._full = str(text)
        self.setToolTip(plain_text(self._full))
        self._render()

    def full_text(self) -> str:
        return self._full

    def text(self) -> str:  # noqa: D401 - what the user reads in full (tooltip has it too)
        return self._full

    def _render(self) -> None:
        plain = plain_text(self._full)
        fm = self.fontMetrics()
        avail = max(10, self.contentsRect().width())
        if fm.horizontalAdvance(plain) <= avail:
            super().setText(self._full)
        else:
            super().setText(html.escape(fm.elidedText(plain, Qt.TextElideMode.ElideRight, avail)))

    def resizeEvent(self, ev):  # noqa: N802
        super().resizeEvent(ev)
        self._render()

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(self._min_w, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802
        fm = self.fontMetrics()
        return QSize(min(fm.horizontalAdvance(plain_text(self._full)) + 8, 900), super().sizeHint().height())
