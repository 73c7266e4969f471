"""The segment table: every segment of the open recording, sortable; click to jump; edit label / note.

A view of the AnnotationSet (subscribes to it); edits made in the table go back as commands.
"""
from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QMenu, QPushButton,
                               QStyledItemDelegate, QTableView, QVBoxLayout, QWidget)

from clinaudio_gui.core import AnnotationSet, LabelSchema
from clinaudio_gui.ui.qt_table_model import QtRowTableModel

COLUMNS = ("start (s)", "end (s)", "dur (s)", "label", "band (Hz)", "source", "note")
LABEL_COL, NOTE_COL = 3, 6


class QtSegmentModel(QtRowTableModel):
    COLUMNS = COLUMNS
    DISPLAY_ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole)

    def __init__(self):
        super().__init__()
        self.annotations: AnnotationSet | None = None
        self.schema: LabelSchema | None = None
        self._unsub = None
        self._rows: list = []

    def set_annotations(self, annotations: AnnotationSet | None, schema: LabelSchema | None) -> None:
        if self._unsub:
            self._unsub()
            self._unsub = None
        self.beginResetModel()
        self.annotations = annotations
        self.schema = schema
        self._rows = list(annotations.segments) if annotations is not None else []
        self.endResetModel()
        if annotations is not None:
            self._unsub = annotations.subscribe(self._on_event)

    def _on_event(self, ev) -> None:
        if ev.kind in ("added", "removed", "reset"):
            self.beginResetModel()
            self._rows = list(self.annotations.segments)
            self.endResetModel()
        elif ev.kind == "modified":
            self._rows = list(self.annotations.segments)
            for sid in ev.ids:
                r = self.row_of(sid)
                if r is not None:
                    self.emit_row_changed(r)

    def row_of(self, sid: str) -> int | None:
        for i, s in enumerate(self._rows):
            if s.id == sid:
                return i
        return None

    def segment_at(self, row: int):
        return self.item_at(row)

    def items(self):
        return self._rows

    def sort_key(self, s, c):
        return [s.start_s, s.end_s, s.duration_s, s.label, s.low_hz or -1.0, s.source, s.note][c]

    def display(self, s, c):
        if c == 0:
            return f"{s.start_s:.3f}"
        if c == 1:
            return f"{s.end_s:.3f}"
        if c == 2:
            return f"{s.duration_s:.3f}"
        if c == 3:
            return s.label
        if c == 4:
            return f"{s.low_hz:.0f}-{s.high_hz:.0f}" if s.is_box else ""
        if c == 5:
            return s.source + (f" {s.confidence:.2f}" if s.confidence is not None else "")
        if c == 6:
            return s.note
        return None

    def role_data(self, s, c, role):
        if role == Qt.ItemDataRole.DecorationRole and c == LABEL_COL and self.schema is not None:
            return QColor(self.schema.color_of(s.label))
        return None

    def flags(self, index):
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() in (LABEL_COL, NOTE_COL):
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole):
        s = self.segment_at(index.row())
        if s is None or self.annotations is None or role != Qt.ItemDataRole.EditRole:
            return False
        value = str(value)
        if index.column() == LABEL_COL and value and value != s.label:
            self.annotations.modify(s.id, label=value)
            return True
        if index.column() == NOTE_COL and value != s.note:
            self.annotations.modify(s.id, note=value)
            return True
        return False


class _LabelDelegate(QStyledItemDelegate):
    def __init__(self, model: QtSegmentModel, parent=None):
        super().__init__(parent)
        self.model = model

    def createEditor(self, parent, option, index):
        if index.column() != LABEL_COL or self.model.schema is None:
            return super().createEditor(parent, option, index)
        box = QComboBox(parent)
        box.setEditable(True)
        box.addItems(self.model.schema.names)
        return box

    def setEditorData(self, editor, index):
        if isinstance(editor, QComboBox):
            editor.setCurrentText(str(index.data(Qt.ItemDataRole.EditRole) or ""))
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor, model, index):
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)
        else:
            super().setModelData(editor, model, index)


class QtSegmentTable(QWidget):
    """The segments; a row's context menu and the button under the table play it looped at 0.5x."""

    segmentActivated = Signal(str)    # segment id (click / Enter): jump there
    loopRequested = Signal(str, float)   # segment id, speed: play that segment looped
    LOOP_SPEED = 0.5

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = QtSegmentModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.setAlternatingRowColors(True)
        self.view.setItemDelegate(_LabelDelegate(self.model, self.view))
        self.view.clicked.connect(self._clicked)
        self.view.activated.connect(self._clicked)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.loop_button = QPushButton(f"Loop selected at {self.LOOP_SPEED:g}×")
        self.loop_button.setToolTip("play the selected segment over and over, slowed down (pitch kept); "
                                    "Escape stops")
        self.loop_button.clicked.connect(self.loop_selected)
        self.loop_button.setEnabled(False)
        self.view.selectionModel().selectionChanged.connect(
            lambda *_: self.loop_button.setEnabled(self.selected_id() is not None))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        row = QHBoxLayout()
        row.setContentsMargins(4, 2, 4, 2)
        row.addWidget(self.loop_button)
        row.addStretch(1)
        lay.addLayout(row)

    def selected_id(self) -> str | None:
        rows = self.view.selectionModel().selectedRows() if self.view.selectionModel() else []
        if not rows:
            return None
        s = self.model.segment_at(self.proxy.mapToSource(rows[0]).row())
        return s.id if s is not None else None

    def loop_selected(self) -> None:
        sid = self.selected_id()
        if sid is not None:
            self.loopRequested.emit(sid, self.LOOP_SPEED)

    def _context_menu(self, pos) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        s = self.model.segment_at(self.proxy.mapToSource(index).row())
        if s is None:
            return
        self.view.selectRow(index.row())
        menu = QMenu(self)
        menu.addAction(f"Play looped at {self.LOOP_SPEED:g}×", lambda: self.loopRequested.emit(s.id, self.LOOP_SPEED))
        menu.addAction("Play looped at 1×", lambda: self.loopRequested.emit(s.id, 1.0))
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def set_annotations(self, annotations, schema) -> None:
        self.model.set_annotations(annotations, schema)

    def _clicked(self, index) -> None:
        src = self.proxy.mapToSource(index)
        s = self.model.segment_at(src.row())
        if s is not None:
            self.segmentActivated.emit(s.id)

    def select_segment(self, sid: str | None) -> None:
        if sid is None:
            self.view.clearSelection()
            return
        r = self.model.row_of(sid)
        if r is None:
            return
        idx = self.proxy.mapFromSource(self.model.index(r, 0))
        self.view.selectRow(idx.row())
        self.view.scrollTo(idx)
