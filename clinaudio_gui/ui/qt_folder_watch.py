"""Watches a dataset folder (and its sub-folders) for recordings added, removed or renamed.

QFileSystemWatcher reports a changed directory; changes come in bursts (a copy of 100 files),
so ``changed`` is emitted once, ``debounce_ms`` after the last one. Hidden folders (the project's
``.clinaudio`` autosave folder among them) are not watched.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

MAX_WATCHED_DIRS = 2000


class QtFolderWatch(QObject):
    changed = Signal()

    def __init__(self, parent=None, *, debounce_ms: int = 400):
        super().__init__(parent)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._poke)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._fire)
        self.folder: Path | None = None

    def watch(self, folder: Path | None) -> None:
        dirs = self._watcher.directories()
        if dirs:
            self._watcher.removePaths(dirs)
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None:
            self._add_tree(self.folder)

    def _add_tree(self, folder: Path) -> None:
        todo = [str(folder)]
        for root, subdirs, _files in os.walk(folder):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
            todo.extend(os.path.join(root, d) for d in subdirs)
            if len(todo) >= MAX_WATCHED_DIRS:
                break
        have = set(self._watcher.directories())
        new = [d for d in todo[:MAX_WATCHED_DIRS] if d not in have]
        if new:
            self._watcher.addPaths(new)

    def _poke(self, _path: str) -> None:
        self._timer.start()

    def _fire(self) -> None:
        if self.folder is not None and self.folder.is_dir():
            self._add_tree(self.folder)     # a new sub-folder is watched too
        self.changed.emit()
