"""The model versions of a folder project (Model in the loop, issue #19): every fine-tuned version
with its status, the labels it learned from, its scores against the model it was judged with and
the decision; "Use this version" rolls back (or forward) to any of them, or to the bundled detector."""
from __future__ import annotations

import html
import json
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from clinaudio_gui.ui.learn_jobs import BUNDLED_VERSION, project_versions, scores_text

VERSION_COLUMNS = ("version", "status", "labels", "new F / 2-2", "old F / 2-2", "decision")
COLUMN_TIPS = ("v0001, v0002, ...: fine-tuned on this folder's labels; bundled: the detector shipped",
               "in use / previous (was in use) / kept aside (scored no better) / base",
               "recordings it was fine-tuned on",
               "the new version's event F and 2-2 Score on the held-back patients",
               "the model in use then, on the same held-back patients", "why it was put in use or kept aside")


class QtVersionsTable(QWidget):
    """Emits ``modelChanged(version)`` after "Use this version"."""

    modelChanged = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.folder: Path | None = None
        self.versions: list[dict] = []
        self.current = BUNDLED_VERSION
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.current_label = QLabel("No folder open.")
        self.current_label.setWordWrap(True)
        self.current_label.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.current_label)
        self.table = QTableWidget(0, len(VERSION_COLUMNS))
        self.table.setHorizontalHeaderLabels(VERSION_COLUMNS)
        for c, tip in enumerate(COLUMN_TIPS):
            self.table.horizontalHeaderItem(c).setToolTip(tip)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        for col, px in enumerate((64, 72, 44, 84, 84)):
            self.table.setColumnWidth(col, px)
        self.table.setMinimumHeight(120)
        self.table.itemSelectionChanged.connect(self._sync_button)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.use_button = QPushButton("Use this version")
        self.use_button.setToolTip("put the selected version in use for this folder's recordings (rollback)")
        self.use_button.clicked.connect(self.use_selected)
        self.use_button.setEnabled(False)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        row.addWidget(self.use_button)
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        lay.addLayout(row)

    def set_folder(self, folder) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.refresh()

    def refresh(self) -> None:
        self.table.setRowCount(0)
        self.versions = []
        if self.folder is None:
            self.current_label.setText("No folder open.")
            self._sync_button()
            return
        try:
            v = project_versions(self.folder)
            self.versions = list(v.list())
            self.current = v.current()
        except ImportError as e:
            self.current_label.setText(f"Model versions unavailable: {e}")
            self._sync_button()
            return
        except Exception as e:  # noqa: BLE001 - a broken versions folder never breaks the panel
            self.current_label.setText(f"Model versions of {self.folder.name} unreadable: {type(e).__name__}: {e}")
            self._sync_button()
            return
        rows = [*self.versions, {"version": BUNDLED_VERSION, "status": "in use" if self.current == BUNDLED_VERSION
                                 else "base", "n_labels": 0, "scores": {}, "decision": "the bundled detector"}]
        self.table.setRowCount(len(rows))
        for i, d in enumerate(rows):
            sc = d.get("scores") or {}
            cells = (str(d.get("version", "")), str(d.get("status", "")),
                     "" if d.get("n_labels") in (None, 0) and d.get("version") == BUNDLED_VERSION
                     else str(d.get("n_labels", "")),
                     scores_text(sc.get("candidate")), scores_text(sc.get("current")), str(d.get("decision", "")))
            for c, text in enumerate(cells):
                it = QTableWidgetItem(text)
                it.setData(Qt.ItemDataRole.UserRole, d.get("version"))
                it.setToolTip(self._tooltip(d))
                if c in (3, 4) and sc:
                    it.setToolTip(f"{VERSION_COLUMNS[c]}: {json.dumps(sc.get('candidate' if c == 3 else 'current'))}")
                if d.get("version") == self.current:
                    f = it.font()
                    f.setBold(True)
                    it.setFont(f)
                self.table.setItem(i, c, it)
        n = len(self.versions)
        self.current_label.setText(f"Model in use for <b>{html.escape(self.folder.name)}</b>: <b>{self.current}</b>"
                                   f" &middot; {n} fine-tuned version(s)")
        self._sync_button()

    @staticmethod
    def _tooltip(d: dict) -> str:
        parts = [f"{d.get('version')}: {d.get('status', '')}"]
        for key, title in (("created_utc", "created"), ("parent", "fine-tuned from"), ("dir", "package")):
            if d.get(key):
                parts.append(f"{title}: {d[key]}")
        if d.get("decision"):
            parts.append(str(d["decision"]))
        return "\n".join(parts)

    def selected_version(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        it = self.table.item(rows[0].row(), 0)
        return None if it is None else it.data(Qt.ItemDataRole.UserRole)

    def select_version(self, version: str) -> bool:
        for i in range(self.table.rowCount()):
            it = self.table.item(i, 0)
            if it is not None and it.data(Qt.ItemDataRole.UserRole) == version:
                self.table.selectRow(i)
                return True
        return False

    def _sync_button(self) -> None:
        v = self.selected_version()
        self.use_button.setEnabled(v is not None and v != self.current)

    def use_selected(self) -> bool:
        v = self.selected_version()
        return self.use_version(v) if v else False

    def use_version(self, version: str) -> bool:
        if self.folder is None or version == self.current:
            return False
        try:
            project_versions(self.folder).rollback(version)
        except Exception as e:  # noqa: BLE001 - said in the panel, the model in use is unchanged
            self.current_label.setText(f"Could not use {version}: {type(e).__name__}: {e}")
            return False
        self.refresh()
        self.select_version(version)
        self.modelChanged.emit(version)
        return True
