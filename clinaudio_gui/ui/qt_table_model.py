"""One base for the read-mostly table models (segments, dataset recordings).

A subclass names its ``COLUMNS``, returns its row objects from ``items()`` and says per column
what a row shows (``display``) and how it sorts (``sort_key``, served on ``UserRole`` for a
``QSortFilterProxyModel`` with ``setSortRole(UserRole)``); any other role goes to ``role_data``.
"""
from __future__ import annotations

from typing import Any, ClassVar, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt


class QtRowTableModel(QAbstractTableModel):
    COLUMNS: ClassVar[tuple[str, ...]] = ()
    #: roles answered by ``display`` (a model with editable cells adds EditRole)
    DISPLAY_ROLES: ClassVar[tuple[Qt.ItemDataRole, ...]] = (Qt.ItemDataRole.DisplayRole,)

    # ---- what a subclass provides ------------------------------------------------------
    def items(self) -> Sequence[Any]:
        raise NotImplementedError

    def display(self, item: Any, column: int) -> Any:
        raise NotImplementedError

    def sort_key(self, item: Any, column: int) -> Any:
        raise NotImplementedError

    def role_data(self, item: Any, column: int, role: Qt.ItemDataRole) -> Any:
        return None

    # ---- shared ---------------------------------------------------------------------------
    def item_at(self, row: int) -> Any:
        rows = self.items()
        return rows[row] if 0 <= row < len(rows) else None

    def emit_row_changed(self, first: int, last: int | None = None) -> None:
        """dataChanged for rows first..last (all columns)."""
        self.dataChanged.emit(self.index(first, 0),
                              self.index(first if last is None else last, len(self.COLUMNS) - 1))

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.items())

    def columnCount(self, parent=QModelIndex()):
        return len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        item = self.item_at(index.row())
        if item is None:
            return None
        c = index.column()
        if role == Qt.ItemDataRole.UserRole:   # sort key
            return self.sort_key(item, c)
        if role in self.DISPLAY_ROLES:
            return self.display(item, c)
        return self.role_data(item, c, role)
