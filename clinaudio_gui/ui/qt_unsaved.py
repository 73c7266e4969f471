"""Asking before unsaved edits are left, and telling what was recovered from the autosave.

``ask_unsaved`` shows a window-modal Save / Discard / Cancel box (opened, never exec'd: the
event loop keeps running) listing the recordings concerned and calls back with the choice:
"save", "discard" or "cancel". ``QtNoticeBar`` is a dismissable one-line notice (used at start-up
to list the recordings whose autosaved edits were recovered).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QMessageBox, QPushButton, QWidget

from clinaudio_gui.ui.qt_elided_label import QtElidedLabel

MAX_LISTED = 12


def list_names(paths: Sequence[Path], limit: int = MAX_LISTED) -> str:
    names = [Path(p).name for p in paths]
    more = len(names) - limit
    return "\n".join(names[:limit]) + (f"\n… and {more} more" if more > 0 else "")


def ask_unsaved(parent: QWidget, paths: Sequence[Path], on_choice: Callable[[str], None], *,
                question: str, discard_hint: str = "Discard drops them and their autosave.") -> QMessageBox:
    box = QMessageBox(parent)
    box.setObjectName("unsavedBox")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Unsaved edits")
    n = len(paths)
    box.setText(f"{question}\n{n} recording(s) have unsaved edits:\n{list_names(paths)}")
    box.setInformativeText("Save writes them beside the recordings. " + discard_hint)
    box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                           | QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    box.setEscapeButton(QMessageBox.StandardButton.Cancel)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    choice = {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}

    def clicked(btn) -> None:
        on_choice(choice.get(box.standardButton(btn), "cancel"))
    box.buttonClicked.connect(clicked)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


class QtNoticeBar(QFrame):
    """A one-line notice under the toolbar with a Dismiss button; the full text is in the tooltip."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 2, 4, 2)
        self.label = QtElidedLabel("")
        lay.addWidget(self.label, 1)
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.clicked.connect(self.hide)
        lay.addWidget(self.dismiss_button)
        self.hide()

    def show_notice(self, text: str) -> None:
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        return self.label.full_text()
