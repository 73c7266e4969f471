"""Dataset panel: the recordings of a folder with status, record label and duration.

Filter and sort; next / previous unlabeled (PgDn / PgUp in the main window); a progress count.
Durations, labels and status are filled in by a background scan so a folder of thousands of
recordings lists at once and never blocks the window.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf
from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QProgressBar, QTableView, QVBoxLayout, QWidget)

from clinaudio_gui.core import Project, sidecar_path
from clinaudio_gui.ui.annotation_files import find_external_annotation, read_annotations_any
from clinaudio_gui.ui.qt_table_model import QtRowTableModel

COLUMNS = ("recording", "status", "record", "s", "events")
STATUS_COLORS = {"unlabeled": "#9e9e9e", "in progress": "#f0a30a", "done": "#2e9e4f"}


@dataclass
class Row:
    path: Path
    status: str = "…"
    record_label: str = ""
    duration_s: float | None = None
    events: int | None = None


def describe(project: Project, path: Path) -> Row:
    """Status, record label, duration and event count of one recording (reads small files only)."""
    row = Row(path)
    try:
        info = sf.info(str(path))
        row.duration_s = info.frames / float(info.samplerate)
    except Exception:  # noqa: BLE001 - a bad file shows as such, the scan goes on
        row.status = "unreadable"
        return row
    a = None
    try:
        a = project.load(path)
    except Exception:  # noqa: BLE001
        a = None
    if a is not None:
        st = a.metadata.get("status")
        row.status = st if st in STATUS_COLORS else ("in progress" if (len(a) or a.record_label) else "unlabeled")
    else:
        ext = find_external_annotation(path)
        if ext is not None:
            try:
                a = read_annotations_any(ext, audio_duration_s=row.duration_s)
                row.status = "done" if (len(a) or a.record_label) else "unlabeled"
            except Exception:  # noqa: BLE001
                row.status = "unlabeled"
        else:
            row.status = "unlabeled"
    if a is not None:
        row.record_label = a.record_label or ""
        row.events = len(a)
    return row


class QtDatasetModel(QtRowTableModel):
    COLUMNS = COLUMNS
    rowsScanned = Signal(object)       # list[Row] from the scan thread

    def __init__(self):
        super().__init__()
        self.rows: list[Row] = []
        self.rowsScanned.connect(self._apply)
        self._gen = 0

    def set_paths(self, project: Project | None, paths: list[Path]) -> None:
        self.beginResetModel()
        self.rows = [Row(p) for p in paths]
        self._index = {r.path: i for i, r in enumerate(self.rows)}
        self.endResetModel()
        self._gen += 1
        if project is not None and paths:
            gen = self._gen
            threading.Thread(target=self._scan, args=(gen, project, list(paths)), daemon=True,
                             name="clinaudio-dataset-scan").start()

    def _scan(self, gen: int, project: Project, paths: list[Path]) -> None:
        batch = []
        for p in paths:
            if gen != self._gen:
                return
            batch.append(describe(project, p))
            if len(batch) >= 64:
                self.rowsScanned.emit((gen, batch))
                batch = []
        self.rowsScanned.emit((gen, batch))

    def _apply(self, payload) -> None:
        gen, batch = payload
        if gen != self._gen:
            return
        if not hasattr(self, "_index") or len(self._index) != len(self.rows):
            self._index = {r.path: i for i, r in enumerate(self.rows)}
        changed = []
        for row in batch:
            i = self._index.get(row.path)
            if i is not None:
                self.rows[i] = row
                changed.append(i)
        if changed:   # one signal per batch: the proxy re-sorts once, not once per row
            self.emit_row_changed(min(changed), max(changed))

    def update_row(self, row: Row) -> None:
        for i, r in enumerate(self.rows):
            if r.path == row.path:
                self.rows[i] = row
                self.emit_row_changed(i)
                return

    def items(self):
        return self.rows

    def sort_key(self, r, c):
        return [r.path.name, r.status, r.record_label, r.duration_s or 0.0, r.events or 0][c]

    def display(self, r, c):
        if c == 0:
            return r.path.name
        if c == 1:
            return r.status
        if c == 2:
            return r.record_label
        if c == 3:
            return "" if r.duration_s is None else f"{r.duration_s:.1f}"
        if c == 4:
            return "" if r.events is None else str(r.events)
        return None

    def role_data(self, r, c, role):
        if role == Qt.ItemDataRole.ForegroundRole and c == 1:
            return QColor(STATUS_COLORS.get(r.status, "#d32f2f"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(r.path)
        return None


class _Filter(QSortFilterProxyModel):
    def __init__(self):
        super().__init__()
        self.text = ""
        self.status = ""

    def filterAcceptsRow(self, src_row, parent):
        r = self.sourceModel().rows[src_row]
        if self.text and self.text.lower() not in (r.path.name + " " + r.record_label).lower():
            return False
        if self.status and r.status != self.status:
            return False
        return True


class QtDatasetPanel(QWidget):
    """Emits ``recordingActivated(path)`` when the user picks a recording."""

    recordingActivated = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project: Project | None = None
        self.model = QtDatasetModel()
        self.proxy = _Filter()
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.setColumnWidth(0, 165)
        self.view.setColumnWidth(1, 62)
        self.view.setColumnWidth(2, 72)
        self.view.setColumnWidth(3, 48)
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setAlternatingRowColors(True)
        self.view.activated.connect(self._activated)
        self.view.clicked.connect(self._activated)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("filter by name or record label")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.status_box = QComboBox()
        self.status_box.addItems(["all", "unlabeled", "in progress", "done"])
        self.status_box.currentTextChanged.connect(self._filter_changed)
        self.progress_label = QLabel("no folder open")
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(10)
        self.progress.setTextVisible(False)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.status_box)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.progress_label)
        lay.addWidget(self.progress)
        self.model.dataChanged.connect(self._update_progress)
        self.model.modelReset.connect(self._update_progress)

    def set_folder(self, project: Project | None, paths: list[Path]) -> None:
        self.project = project
        self.model.set_paths(project, paths)

    def refresh_row(self, path: Path) -> None:
        if self.project is None:
            return
        self.model.update_row(describe(self.project, path))

    def _filter_changed(self, *_):
        self.proxy.text = self.filter_edit.text().strip()
        st = self.status_box.currentText()
        self.proxy.status = "" if st == "all" else st
        self.proxy.invalidate()

    def _update_progress(self, *_):
        rows = self.model.rows
        done = sum(r.status == "done" for r in rows)
        prog = sum(r.status == "in progress" for r in rows)
        scanned = sum(r.duration_s is not None for r in rows)
        total_s = sum(r.duration_s or 0.0 for r in rows)
        self.progress_label.setText(f"{done} done, {prog} in progress, {len(rows) - done - prog} unlabeled "
                                    f"of {len(rows)} ({total_s / 60:.1f} min)"
                                    + ("" if scanned == len(rows) else f" · scanning {scanned}/{len(rows)}"))
        self.progress.setMaximum(max(1, len(rows)))
        self.progress.setValue(done)

    def _activated(self, index) -> None:
        src = self.proxy.mapToSource(index)
        self.recordingActivated.emit(self.model.rows[src.row()].path)

    def select_path(self, path: Path) -> None:
        for i, r in enumerate(self.model.rows):
            if r.path == path:
                idx = self.proxy.mapFromSource(self.model.index(i, 0))
                if idx.isValid():
                    self.view.selectRow(idx.row())
                    self.view.scrollTo(idx)
                return

    def neighbour(self, path: Path | None, step: int, *, unlabeled_only: bool = True) -> Path | None:
        """The next (step=+1) or previous (-1) recording in the shown order, unlabeled ones only."""
        n = self.proxy.rowCount()
        order = [self.model.rows[self.proxy.mapToSource(self.proxy.index(i, 0)).row()] for i in range(n)]
        cur = next((i for i, r in enumerate(order) if r.path == path), -1 if step > 0 else n)
        i = cur + step
        while 0 <= i < n:
            if not unlabeled_only or order[i].status in ("unlabeled", "…"):
                return order[i].path
            i += step
        return None
