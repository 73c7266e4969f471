"""The reviewer view and the personal queue on real widgets (pytest-qt, offscreen) over a real
SQLite project with SPRSound recordings; screenshots in $CLINAUDIO_SHOTS if set."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.store import ProjectStore
from clinaudio_gui.store.client import ProjectClient
from clinaudio_gui.store.exchange import assign, import_folder
from clinaudio_gui.store.media import scan_audio


def _shot(widget, name):
    d = os.environ.get("CLINAUDIO_SHOTS")
    if d:
        Path(d).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(d) / name))


@pytest.fixture
def project(tmp_path, media):
    st = ProjectStore.init(f"sqlite:///{tmp_path / 'p.db'}", actor="lead")
    for n in ("alice", "bob"):
        st.add_person(n, "annotator")
    st.add_person("rita", "reviewer")
    st.register_recordings(scan_audio(media, media))
    assign(st, ["alice", "bob"], 2, seed=0)
    import_folder(st, media, "sprsound", "alice")
    # bob: the same expert labels, but crackles called wheezes, one event dropped, other record labels
    for rid_owner, ls in st.load_all(["alice"]).items():
        a = ls.annotations
        segs = [s.replace(label="Wheeze" if "Crackle" in s.label else s.label, annotator="bob")
                for s in a.segments][: max(1, len(a) - 1)]
        st.save(rid_owner[0], "bob", AnnotationSet(segs, "CAS" if a.record_label != "CAS" else "Normal"), 0)
    return st


def _disputed_recording(store):
    from clinaudio_gui.store.review import disagreements
    sets = store.load_all(["alice", "bob"])
    best = None
    for rec in store.recordings():
        items = disagreements({o: sets[(rec.id, o)].annotations for o in ("alice", "bob")})
        if best is None or len(items) > best[1]:
            best = (rec, len(items))
    return best[0]


def test_review_view_one_click_per_disagreement(qtbot, project, media):
    from PySide6.QtCore import Qt
    from clinaudio_gui.ui.qt_review_view import QtReviewView
    rita = ProjectStore(project.url, actor="rita")
    rec = _disputed_recording(rita)
    v = QtReviewView()
    qtbot.addWidget(v)
    v.resize(1300, 650)
    v.set_recording(rita, rec, media / rec.rel_path)
    v.show()
    qtbot.waitExposed(v)
    n = v.disagreement_count()
    assert n >= 2 and v.table.rowCount() == n
    assert set(v._tracks) == {"alice", "bob", "consensus"}
    _shot(v, "review_before.png")
    # one click per disagreement on alice's version: the saved consensus equals alice's labels
    versions = []
    for item in v.items:
        key = "record" if item.kind == "record" else item.index
        with qtbot.waitSignal(v.consensusSaved, timeout=5000) as sig:
            qtbot.mouseClick(v.choice_buttons[(key, "alice")], Qt.LeftButton)
        versions.append(sig.args[0])
    assert versions == list(range(1, n + 1))
    cons = rita.load(rec.id, "consensus")
    alice = rita.load(rec.id, "alice").annotations
    assert cons.version == n and cons.annotations.record_label == alice.record_label
    assert sorted((s.start_s, s.end_s, s.label) for s in cons.annotations.segments) == \
        sorted((s.start_s, s.end_s, s.label) for s in alice.segments)
    assert {s.annotator for s in cons.annotations.segments} <= {"alice"}
    assert "decided" in v.summary.text() and v.summary.text().startswith(f"{n} of {n}")
    _shot(v, "review_after.png")
    # reopened: the choices are remembered, the consensus version continues
    v.set_recording(rita, rec, media / rec.rel_path)
    assert all(v.choice_buttons[(("record" if it.kind == "record" else it.index), "alice")].isChecked()
               for it in v.items)
    assert v.consensus_version == n


def test_queue_next_assigned(qtbot, project, media):
    from clinaudio_gui.ui.qt_project_queue import QtProjectQueue
    alice = ProjectClient(project.url, store=ProjectStore(project.url, actor="alice"), media_root=media)
    q = QtProjectQueue(alice)
    qtbot.addWidget(q)
    q.resize(420, 500)
    q.show()
    qtbot.waitExposed(q)
    assert q.list.count() == 6 and "alice" in q.header.text() and "online" in q.header.text()
    assert all("[done]" in q.list.item(i).text() for i in range(6))     # imported expert labels are done
    st = ProjectStore(project.url, actor="alice")
    first = alice.recordings()[0]
    rec = alice.info(first)
    ls = st.load(rec.id, "alice")
    st.save(rec.id, "alice", ls.annotations, ls.version, status="in progress")
    q.refresh()
    _shot(q, "queue.png")
    with qtbot.waitSignal(q.openRequested, timeout=2000) as sig:
        q.next_button.click()
    assert sig.args[0] == first
    assert not q.review_button.isVisible()
