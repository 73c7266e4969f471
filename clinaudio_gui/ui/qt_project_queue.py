"""A project database in the main window: the personal queue dock and opening a project URL.

``open_project_url(window, url)`` connects (a password prompt if the server asks and libpq's
password file has none), makes a :class:`~clinaudio_gui.store.client.ProjectClient` the
window's project - so the editor, autosave and the dataset list work as with a folder - and
docks a :class:`QtProjectQueue`: the recordings assigned to me, "Next assigned" (the first one
not marked done), the server state and the offline journal, and for reviewers "Review".
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QInputDialog, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QMainWindow, QPushButton, QVBoxLayout, QWidget)

from clinaudio_gui.store.client import ProjectClient, looks_like_project_url
from clinaudio_gui.store.url import StoreError, StoreUnavailable, parse_url

__all__ = ["QtProjectQueue", "QtReviewWindow", "ask_project_url", "open_project_in", "open_project_url", "looks_like_project_url"]


class QtProjectQueue(QWidget):
    openRequested = Signal(object)       # Path of a recording to label
    reviewRequested = Signal(object)     # Path of a recording to review

    def __init__(self, client: ProjectClient, parent=None):
        super().__init__(parent)
        self.client = client
        st = client.store
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.list = QListWidget()
        self.list.itemActivated.connect(lambda it: self.openRequested.emit(Path(it.data(Qt.UserRole))))
        self.next_button = QPushButton("Next assigned")
        self.next_button.setToolTip("the first recording assigned to me that I have not marked done")
        self.next_button.clicked.connect(self.open_next)
        self.sync_button = QPushButton("Write journal through")
        self.sync_button.clicked.connect(self.replay)
        self.review_button = QPushButton("Review")
        self.review_button.setToolTip("each annotator's events side by side; one click per disagreement")
        self.review_button.clicked.connect(self._review_current)
        self.review_button.setVisible(st.my_role in ("reviewer", "admin"))
        row = QHBoxLayout()
        for b in (self.next_button, self.review_button, self.sync_button):
            row.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(self.header)
        lay.addWidget(self.list, 1)
        lay.addLayout(row)
        self.refresh()

    def refresh(self) -> None:
        st = self.client.store
        self.list.clear()
        statuses = {}
        for (rid, owner), ls in st.load_all([self.client.owner]).items():
            statuses[rid] = ls.status
        for p in self.client.recordings():
            rec = self.client.info(p)
            status = statuses.get(rec.id, "unlabeled")
            it = QListWidgetItem(f"{rec.name}   [{status}]")
            it.setData(Qt.UserRole, str(p))
            self.list.addItem(it)
        self._update_header()

    def _update_header(self) -> None:
        st, c = self.client.store, self.client
        pending = len(c.journaled.journal)
        state = "online" if c.online else "OFFLINE (saves go to the journal)"
        miss = f" · {len(c.missing)} file(s) missing here" if c.missing else ""
        self.header.setText(f"<b>{st.me}</b> ({st.my_role}) · {c.url.user_facing()}<br>"
                            f"{state} · journal: {pending} pending{miss}")
        self.sync_button.setEnabled(pending > 0)

    def open_next(self) -> Path | None:
        p = self.client.next_in_queue()
        if p is not None:
            self.openRequested.emit(p)
        else:
            self.header.setText(self.header.text() + "<br>nothing left in your queue")
        return p

    def replay(self) -> dict | None:
        try:
            out = self.client.replay()
        except StoreUnavailable:
            out = None
        self._update_header()
        return out

    def _review_current(self) -> None:
        it = self.list.currentItem() or (self.list.item(0) if self.list.count() else None)
        if it is not None:
            self.reviewRequested.emit(Path(it.data(Qt.UserRole)))


class QtReviewWindow(QMainWindow):
    """The review view in its own window (it needs the width for parallel tracks)."""

    def __init__(self, client: ProjectClient, path: Path, parent=None):
        super().__init__(parent)
        from clinaudio_gui.ui.qt_review_view import QtReviewView
        self.view = QtReviewView(self)
        self.setCentralWidget(self.view)
        rec = client.info(path)
        self.setWindowTitle(f"Review {rec.name} - ClinAudio")
        self.view.set_recording(client.store, rec, path)
        self.resize(1300, 700)


def _ask_password(window, url) -> str | None:
    pw, ok = QInputDialog.getText(window, "Project password", f"Password for {url.user} at {url.host}:",
                                  QLineEdit.Password)
    return pw if ok and pw else None


def connect_client(window, url_text: str, *, media_root=None) -> ProjectClient:
    url = parse_url(url_text)
    try:
        return ProjectClient(url, media_root=media_root)
    except StoreError as e:
        if "asks for a password" in e.problem and (pw := _ask_password(window, url)):
            return ProjectClient(url, media_root=media_root, password=pw)
        raise


def open_project_url(window, url_text: str, *, media_root=None) -> ProjectClient:
    """Make the project at ``url_text`` the window's project and open my next recording.
    Raises ClinAudioError (StoreError) with a one-line message the window shows."""
    from clinaudio_gui.core import Autosaver
    client = connect_client(window, url_text, media_root=media_root)
    window._leave_recording()
    window._project = client
    window._autosaver = Autosaver(client, delay_s=1.0)
    recs = client.recordings()
    window.dataset.set_folder(client, recs)
    old = getattr(window, "_project_dock", None)
    if old is not None:
        window.removeDockWidget(old)
        old.deleteLater()
    queue = QtProjectQueue(client)
    queue.openRequested.connect(lambda p: window.open_path(p))
    queue.reviewRequested.connect(lambda p: _open_review(window, client, p))
    dock = QDockWidget("Project queue", window)
    dock.setObjectName("projectQueueDock")
    dock.setWidget(queue)
    window.addDockWidget(Qt.RightDockWidgetArea, dock)
    window._project_dock, window.project_queue = dock, queue
    if hasattr(window, "recordingChanged"):
        window.recordingChanged.connect(queue.refresh)     # statuses move on as recordings are done
    first = client.next_in_queue() or (recs[0] if recs else None)
    if first is not None:
        window.open_path(first)
    window.status(f"project {client.url.user_facing()}: {len(recs)} recording(s) for {client.store.me} "
                  f"({client.store.my_role})" + (f"; {len(client.missing)} missing here" if client.missing else ""))
    return client


def ask_project_url(window) -> bool:
    """File > Open project URL: ask for the URL (the last one offered), open it."""
    from PySide6.QtCore import QSettings
    qs = QSettings()
    last = str(qs.value("project_url", "") or "")
    url, ok = QInputDialog.getText(window, "Open project", "Project URL (sqlite:///PATH or "
                                   "postgresql://USER@HOST:PORT/DB):", QLineEdit.Normal, last)
    if not ok or not url.strip():
        return False
    url = url.strip()
    if not looks_like_project_url(url):
        url = "sqlite:///" + str(Path(url).expanduser().resolve())
    qs.setValue("project_url", url)
    return open_project_in(window, url)


def open_project_in(window, url_text: str) -> bool:
    """The main window's hook: open a project URL, or show the one-line reason it cannot be."""
    from clinaudio_gui.core.errors import ClinAudioError
    try:
        open_project_url(window, url_text)
        return True
    except ClinAudioError as e:
        window._error(e.format())
    return False


def _open_review(window, client, path) -> None:
    w = QtReviewWindow(client, Path(path), window)
    window._review_window = w
    w.show()
