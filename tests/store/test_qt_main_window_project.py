"""The main window opens a project URL as well as a folder: the personal queue, the person's own
labels only, saves into the database with versions (real window, real SQLite project)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from clinaudio_gui.core.segment import Segment
from clinaudio_gui.store import ProjectStore
from clinaudio_gui.store.exchange import assign, import_folder
from clinaudio_gui.store.media import scan_audio


@pytest.fixture
def project(tmp_path, media, monkeypatch, isolated_qsettings):
    st = ProjectStore.init(f"sqlite:///{tmp_path / 'p.db'}", actor="lead")
    for n in ("alice", "bob"):
        st.add_person(n, "annotator")
    st.register_recordings(scan_audio(media, media))
    assign(st, ["alice", "bob"], 1, seed=0)
    import_folder(st, media, "sprsound", "bob")
    monkeypatch.setenv("CLINAUDIO_MEDIA_ROOT", str(media))
    monkeypatch.setenv("CLINAUDIO_USER", "alice")
    return st


@pytest.fixture
def window(qtbot, project):
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    w = QtMainWindow(load_panels=False)
    qtbot.addWidget(w)
    w.resize(1400, 860)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def test_open_project_url_label_and_save(qtbot, window, project, media):
    url = project.url.user_facing()
    assert window.open_path(url)
    queue = window.project_queue
    assert queue.list.count() == 3
    mine = [ProjectStore(project.url, actor="alice").recording(queue.list.item(i).text().split()[0])
            for i in range(3)]
    first = mine[0]
    assert window.current_path() == (media / first.rel_path).resolve()
    a = window.current_annotations()
    assert len(a) == 0 and a.record_label is None          # not bob's, not the SPRSound JSON beside it
    a.add(Segment(0.4, 1.3, "Wheeze"))
    assert window.save()
    ls = project.load(first.id, "alice")
    assert ls.version == 1 and [s.label for s in ls.annotations.segments] == ["Wheeze"]
    assert "version 1" in window.statusBar().currentMessage()
    d = os.environ.get("CLINAUDIO_SHOTS")
    if d:
        qtbot.wait(300)
        window.grab().save(str(Path(d) / "main_window_project.png"))
    # marked done, the queue's "Next assigned" goes to the second recording
    window._annotations.set_metadata("status", "done")
    assert window.save()
    assert project.load(first.id, "alice").status == "done"
    queue.next_button.click()
    qtbot.waitUntil(lambda: window.current_path() == (media / mine[1].rel_path).resolve(), timeout=5000)


def test_bad_project_url_is_one_line(qtbot, window, tmp_path):
    assert not window.open_path(f"sqlite:///{tmp_path / 'none.db'}")
    msg = window.statusBar().currentMessage()
    assert "no project file" in msg and "\n" not in msg


def test_file_menu_opens_a_project_url(qtbot, window, project):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QInputDialog
    act = next(a for a in window.menuBar().actions()[0].menu().actions() if "project" in a.text().lower())

    def fill():
        dlg = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QInputDialog) and w.isVisible())
        dlg.setTextValue(project.url.user_facing())
        dlg.accept()
    QTimer.singleShot(300, fill)
    act.trigger()
    qtbot.waitUntil(lambda: getattr(window, "project_queue", None) is not None, timeout=5000)
    assert window.project_queue.list.count() == 3


def test_reviewer_opens_the_review_view_from_the_queue(qtbot, window, project, media, monkeypatch):
    project.add_person("rita", "reviewer")
    import_folder(project, media, "sprsound", "alice")
    monkeypatch.setenv("CLINAUDIO_USER", "rita")
    assert window.open_path(project.url.user_facing())
    q = window.project_queue
    assert q.list.count() == 6 and q.review_button.isVisibleTo(q)
    assert q.client.owner == "consensus"
    q.list.setCurrentRow(0)
    q.review_button.click()
    rw = window._review_window
    qtbot.waitExposed(rw)
    assert set(rw.view._tracks) == {"alice", "bob", "consensus"}
    assert rw.view.disagreement_count() == 0          # same expert labels imported for both
    rw.close()
