"""Dataset panel: the recordings of a folder with status, record label, duration and patient context.

Filter by text (name, patient, record label), status, event label and record label; sort by any
column, optionally grouped by patient; next / previous unlabeled (PgDn / PgUp in the main window);
a progress count. Durations, labels, status and patient context (io.metadata: SPRSound / ICBHI
names, a sidecar CSV) are filled in by a background scan so a folder of thousands of recordings
lists at once and never blocks the window; a file that cannot be read is listed as broken. The
folder is watched: recordings added or removed appear without reopening it. The open recording's
row follows its edits before they are saved (``show_annotations``).
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QProgressBar, QTableView, QVBoxLayout, QWidget)

from clinaudio_gui.core import AnnotationSet, Project
from clinaudio_gui.io.metadata import MetadataIndex
from clinaudio_gui.ui.dataset_rows import STATUS_COLORS, Row, describe, fill_from_annotations
from clinaudio_gui.ui.qt_folder_watch import QtFolderWatch
from clinaudio_gui.ui.qt_table_model import QtRowTableModel

COLUMNS = ("recording", "status", "record", "s", "events", "unsure", "patient", "age", "sex", "location", "reason")
UNSURE_COL = COLUMNS.index("unsure")
REASON_COL = COLUMNS.index("reason")      # why the model put a recording where it is in the queue
UNQUEUED = 1 << 30
PATIENT_COL = COLUMNS.index("patient")
ANY_EVENT, ANY_RECORD = "any event", "any record label"


class QtDatasetModel(QtRowTableModel):
    COLUMNS = COLUMNS
    rowsScanned = Signal(object)       # (generation, list[Row]) from a scan thread

    def __init__(self):
        super().__init__()
        self.rows: list[Row] = []
        self._index: dict[Path, int] = {}
        self.rowsScanned.connect(self._apply)
        self._gen = 0
        self.meta = MetadataIndex()

    def set_paths(self, project: Project | None, paths: list[Path]) -> None:
        self.beginResetModel()
        self.rows = [Row(p) for p in paths]
        self._reindex()
        self.endResetModel()
        self._gen += 1
        self.meta = MetadataIndex()
        self._start_scan(project, list(paths))

    def _reindex(self) -> None:
        self._index = {r.path: i for i, r in enumerate(self.rows)}

    def _start_scan(self, project: Project | None, paths: list[Path]) -> None:
        if project is not None and paths:
            threading.Thread(target=self._scan, args=(self._gen, project, paths), daemon=True,
                             name="clinaudio-dataset-scan").start()

    def add_paths(self, project: Project | None, paths: list[Path]) -> None:
        """Recordings that appeared in the folder: listed now, described by a background scan."""
        new = [p for p in paths if p not in self._index]
        if not new:
            return
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(new) - 1)
        self.rows.extend(Row(p) for p in new)
        self._reindex()
        self.endInsertRows()
        self._start_scan(project, new)

    def remove_paths(self, paths: list[Path]) -> None:
        gone = {p for p in paths if p in self._index}
        for p in sorted(gone, key=lambda q: -self._index[q]):
            i = self._index[p]
            self.beginRemoveRows(QModelIndex(), i, i)
            del self.rows[i]
            self._reindex()
            self.endRemoveRows()

    def _scan(self, gen: int, project: Project, paths: list[Path]) -> None:
        batch = []
        for p in paths:
            if gen != self._gen:
                return
            try:
                batch.append(describe(project, p, self.meta))
            except Exception as e:  # noqa: BLE001 - one odd file never stops the scan
                batch.append(Row(p, status="broken", scanned=True, problem=str(e)))
            if len(batch) >= 64:
                self.rowsScanned.emit((gen, batch))
                batch = []
        self.rowsScanned.emit((gen, batch))

    def _apply(self, payload) -> None:
        gen, batch = payload
        if gen != self._gen:
            return
        changed = []
        for row in batch:
            i = self._index.get(row.path)
            if i is not None:
                row.unsaved = self.rows[i].unsaved or row.unsaved
                if self.rows[i].unsaved and self.rows[i].scanned:
                    continue            # the in-memory edits say more than the disk
                self.rows[i] = row
                changed.append(i)
        if changed:   # one signal per batch: the proxy re-sorts once, not once per row
            self.emit_row_changed(min(changed), max(changed))

    def update_row(self, row: Row) -> None:
        i = self._index.get(row.path)
        if i is not None:
            self.rows[i] = row
            self.emit_row_changed(i)

    def row_of(self, path: Path) -> Row | None:
        i = self._index.get(Path(path))
        return self.rows[i] if i is not None else None

    def items(self):
        return self.rows

    def set_uncertainty(self, values: dict) -> None:
        """path -> (uncertainty in [0, 1], reason): the detector's, for "start where the model is least sure"."""
        self.uncertainty = dict(values)
        self.queue = {}
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, UNSURE_COL, UNSURE_COL)
        if self.rows:
            self.emit_row_changed(0, len(self.rows) - 1)

    def set_queue(self, items) -> None:
        """A labeling queue in order, [(path, score, reason), ...]: column 'unsure' becomes the rank
        ('queue'), 'reason' says why; recordings left out (labeled ones) sort after it."""
        self.queue = {Path(p): (i, float(score), str(reason)) for i, (p, score, reason) in enumerate(items)}
        self.uncertainty = {}
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, UNSURE_COL, UNSURE_COL)
        if self.rows:
            self.emit_row_changed(0, len(self.rows) - 1)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if (section == UNSURE_COL and orientation == Qt.Orientation.Horizontal
                and role == Qt.ItemDataRole.DisplayRole and getattr(self, "queue", None)):
            return "queue"
        return super().headerData(section, orientation, role)

    def _reason(self, r) -> str:
        queue = getattr(self, "queue", None)
        if queue:
            q = queue.get(r.path)
            if q is not None:
                return q[2]
            return {"done": "labeled: left out of the queue", "broken": "unreadable"}.get(r.status, "not ranked")
        u = getattr(self, "uncertainty", {}).get(r.path)
        return "" if u is None else u[1]

    def sort_key(self, r, c):
        p = r.patient
        if c == UNSURE_COL:
            if getattr(self, "queue", None):
                return self.queue.get(r.path, (UNQUEUED,))[0]
            return getattr(self, "uncertainty", {}).get(r.path, (-1.0, ""))[0]
        if c == REASON_COL:
            return self._reason(r)
        return [r.path.name, r.status, r.record_label, r.duration_s or 0.0, r.events or 0, None, p.patient or "",
                p.age_years if p.age_years is not None else -1.0, r.sex_text, p.location_name or ""][c]

    def display(self, r, c):
        p = r.patient
        if c == 0:
            return ("• " if r.unsaved else "") + r.path.name
        if c == 1:
            return r.status
        if c == 2:
            return r.record_label
        if c == 3:
            return "" if r.duration_s is None else f"{r.duration_s:.1f}"
        if c == 4:
            return "" if r.events is None else str(r.events)
        if c == UNSURE_COL:
            if getattr(self, "queue", None):
                q = self.queue.get(r.path)
                return "" if q is None else str(q[0] + 1)
            u = getattr(self, "uncertainty", {}).get(r.path)
            return "" if u is None else f"{u[0]:.2f}"
        if c == REASON_COL:
            return self._reason(r)
        if c == 6:
            return p.patient or ""
        if c == 7:
            return p.age_text
        if c == 8:
            return r.sex_text
        if c == 9:
            return p.location_name or ""
        return None

    def role_data(self, r, c, role):
        if role == Qt.ItemDataRole.ForegroundRole and c == 1:
            return QColor(STATUS_COLORS.get(r.status, "#9e9e9e"))
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = str(r.path)
            q = getattr(self, "queue", {}).get(r.path)
            if q is not None:
                tip += f"\nqueue #{q[0] + 1} (score {q[1]:.3f}): {q[2]}"
            u = getattr(self, "uncertainty", {}).get(r.path)
            if u is not None:
                tip += f"\n{u[1]}"
            if r.problem:
                tip += f"\nbroken: {r.problem}"
            if r.unsaved:
                tip += "\nunsaved edits (in the autosave; Ctrl+S saves)"
            if r.patient.source:
                tip += f"\npatient context from the {r.patient.source}"
            return tip
        return None


class _Filter(QSortFilterProxyModel):
    """Text / status / event-label / record-label filters; optional grouping by patient."""

    def __init__(self):
        super().__init__()
        self.text = ""
        self.status = ""
        self.event_label = ""
        self.record_label = ""
        self.group = False
        self._rank: dict[str, int] = {}

    def filterAcceptsRow(self, src_row, parent):
        r = self.sourceModel().rows[src_row]
        if self.text and self.text.lower() not in " ".join(
                (r.path.name, r.record_label, r.patient.patient or "", r.patient.location_name or "")).lower():
            return False
        if self.status and r.status != self.status:
            return False
        if self.event_label and self.event_label not in r.labels:
            return False
        if self.record_label and r.record_label != self.record_label:
            return False
        return True

    def _patient_key(self, src_row: int) -> str:
        r = self.sourceModel().rows[src_row]
        return r.patient.patient or "\uffff" + r.path.name     # no patient: after the patients, alone

    def lessThan(self, left, right):
        if self.group:
            a, b = self._patient_key(left.row()), self._patient_key(right.row())
            if a != b:    # patients always ascending, whatever the column's order
                return (a < b) if self.sortOrder() == Qt.SortOrder.AscendingOrder else (a > b)
        return super().lessThan(left, right)

    def update_ranks(self) -> None:
        rows = self.sourceModel().rows
        self._rank = {p: i for i, p in enumerate(sorted({r.patient.patient for r in rows if r.patient.patient}))}

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if self.group and role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.FontRole):
            r = self.sourceModel().rows[self.mapToSource(index).row()]
            k = self._rank.get(r.patient.patient)
            if role == Qt.ItemDataRole.BackgroundRole:
                return QColor(128, 128, 128, 40) if k is not None and k % 2 else None
            if index.column() == PATIENT_COL and index.row() > 0:
                prev = self.sourceModel().rows[self.mapToSource(self.index(index.row() - 1, 0)).row()]
                if prev.patient.patient != r.patient.patient:
                    f = QFont()
                    f.setBold(True)
                    return f
            elif index.column() == PATIENT_COL:
                f = QFont()
                f.setBold(True)
                return f
        return super().data(index, role)


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
        for col, px in enumerate((165, 70, 72, 40, 46, 46, 70, 36, 32, 90, 240)):
            self.view.setColumnWidth(col, px)
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setAlternatingRowColors(True)
        self.view.activated.connect(self._activated)
        self.view.clicked.connect(self._activated)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("filter by name, patient or record label")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.status_box = QComboBox()
        self.status_box.addItems(["all", "unlabeled", "in progress", "done", "broken"])
        self.status_box.currentTextChanged.connect(self._filter_changed)
        self.event_filter = QComboBox()
        self.event_filter.setToolTip("show recordings with at least one event of this label")
        self.record_filter = QComboBox()
        self.record_filter.setToolTip("show recordings with this record label")
        for box, first in ((self.event_filter, ANY_EVENT), (self.record_filter, ANY_RECORD)):
            box.addItem(first)
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(8)
            box.currentIndexChanged.connect(self._filter_changed)
        self.group_box = QCheckBox("group by patient")
        self.group_box.toggled.connect(self._group_toggled)
        self.progress_label = QLabel("no folder open")
        self.progress_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(10)
        self.progress.setTextVisible(False)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.status_box)
        row2 = QHBoxLayout()
        row2.addWidget(self.event_filter, 1)
        row2.addWidget(self.record_filter, 1)
        row2.addWidget(self.group_box)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addLayout(row2)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.progress_label)
        lay.addWidget(self.progress)
        self.model.dataChanged.connect(self._update_progress)
        self.model.modelReset.connect(self._update_progress)
        self.model.rowsInserted.connect(self._update_progress)
        self.model.rowsRemoved.connect(self._update_progress)
        self.watch = QtFolderWatch(self)
        self.watch.changed.connect(self.rescan)

    def set_folder(self, project: Project | None, paths: list[Path]) -> None:
        self.project = project
        self.model.set_paths(project, paths)
        self.watch.watch(project.folder if project is not None else None)

    def set_uncertainty(self, values: dict) -> None:
        """Show the detector's uncertainty per recording and sort the list by it, most unsure first."""
        self.model.set_uncertainty(values)
        self.view.sortByColumn(COLUMNS.index("unsure"), Qt.SortOrder.DescendingOrder)

    def set_queue(self, items) -> None:
        """Show a labeling queue [(path, score, reason), ...] and sort the list in its order, so
        "next recording" (PgDn) follows it; the reason shows beside each recording."""
        self.model.set_queue(items)
        hdr = self.view.horizontalHeader()      # the rank and the reason right beside the name
        hdr.moveSection(hdr.visualIndex(UNSURE_COL), 1)
        hdr.moveSection(hdr.visualIndex(REASON_COL), 2)
        self.view.setColumnWidth(UNSURE_COL, 54)
        self.view.sortByColumn(UNSURE_COL, Qt.SortOrder.AscendingOrder)

    def paths(self) -> list[Path]:
        return [r.path for r in self.model.rows]

    def rescan(self) -> None:
        """Bring the list in line with the folder: new recordings appear, removed ones go."""
        if self.project is None or not self.project.folder.is_dir():
            return
        now = set(self.project.recordings())
        have = {r.path for r in self.model.rows}
        if now - have:
            self.model.add_paths(self.project, sorted(now - have))
        if have - now:
            self.model.remove_paths(sorted(have - now))

    def refresh_row(self, path: Path) -> None:
        if self.project is None:
            return
        self.model.update_row(describe(self.project, path, self.model.meta))

    def show_annotations(self, path: Path, annotations: AnnotationSet, *, unsaved: bool) -> None:
        """Counts and status from the open recording's annotations as they are now (not from disk)."""
        old = self.model.row_of(path)
        if old is None:
            return
        row = Row(old.path, duration_s=old.duration_s, scanned=True, patient=old.patient, unsaved=unsaved)
        fill_from_annotations(row, annotations)
        if row.status == "in progress" and old.status == "done" and "status" not in annotations.metadata:
            row.status = "done"     # a labeled dataset file (SPRSound JSON, ICBHI txt) stays done while edited
        self.model.update_row(row)

    def shown_paths(self) -> list[Path]:
        """The listed recordings in the order shown (after filters, sorting and grouping)."""
        return [self.model.rows[self.proxy.mapToSource(self.proxy.index(i, 0)).row()].path
                for i in range(self.proxy.rowCount())]

    def _group_toggled(self, on: bool) -> None:
        self.proxy.group = on
        self.proxy.update_ranks()
        self.view.setAlternatingRowColors(not on)
        self.proxy.invalidate()

    def _filter_changed(self, *_):
        self.proxy.text = self.filter_edit.text().strip()
        st = self.status_box.currentText()
        self.proxy.status = "" if st == "all" else st
        ev, rl = self.event_filter.currentText(), self.record_filter.currentText()
        self.proxy.event_label = "" if ev == ANY_EVENT else ev
        self.proxy.record_label = "" if rl == ANY_RECORD else rl
        self.proxy.invalidate()

    def _fill_label_filters(self) -> None:
        rows = self.model.rows
        for box, first, values in ((self.event_filter, ANY_EVENT, {lab for r in rows for lab in r.labels}),
                                   (self.record_filter, ANY_RECORD, {r.record_label for r in rows if r.record_label})):
            want = sorted(values)
            have = [box.itemText(i) for i in range(1, box.count())]
            if want == have:
                continue
            cur = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItem(first)
            box.addItems(want)
            box.setCurrentIndex(max(0, box.findText(cur)))
            box.blockSignals(False)

    def _update_progress(self, *_):
        rows = self.model.rows
        done = sum(r.status == "done" for r in rows)
        prog = sum(r.status == "in progress" for r in rows)
        broken = sum(r.status == "broken" for r in rows)
        scanned = sum(r.scanned for r in rows)
        total_s = sum(r.duration_s or 0.0 for r in rows)
        unl = len(rows) - done - prog - broken
        self.progress_label.setText(
            f"{done} done, {prog} in progress, {unl} unlabeled" + (f", {broken} broken" if broken else "")
            + f" of {len(rows)} ({total_s / 60:.1f} min)"
            + ("" if scanned == len(rows) else f" · scanning {scanned}/{len(rows)}"))
        self.progress.setMaximum(max(1, len(rows)))
        self.progress.setValue(done)
        self._fill_label_filters()
        if self.proxy.group:
            self.proxy.update_ranks()

    def _activated(self, index) -> None:
        src = self.proxy.mapToSource(index)
        self.recordingActivated.emit(self.model.rows[src.row()].path)

    def select_path(self, path: Path) -> None:
        i = self.model._index.get(Path(path))
        if i is not None:
            idx = self.proxy.mapFromSource(self.model.index(i, 0))
            if idx.isValid():
                self.view.selectRow(idx.row())
                self.view.scrollTo(idx)

    def neighbour(self, path: Path | None, step: int, *, unlabeled_only: bool = True) -> Path | None:
        """The next (step=+1) or previous (-1) recording in the shown order, unlabeled ones only."""
        n = self.proxy.rowCount()
        order = [self.model.rows[self.proxy.mapToSource(self.proxy.index(i, 0)).row()] for i in range(n)]
        cur = next((i for i, r in enumerate(order) if r.path == path), -1 if step > 0 else n)
        i = cur + step
        while 0 <= i < n:
            if order[i].status != "broken" and (not unlabeled_only or order[i].status in ("unlabeled", "…")):
                return order[i].path
            i += step
        return None
