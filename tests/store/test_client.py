"""ProjectClient: the GUI's view of a project database (queue, own labels only, versions, autosave)."""
import pytest

from clinaudio_gui.core.segment import Segment
from clinaudio_gui.store import ConflictError, ProjectStore, StoreError
from clinaudio_gui.store.client import ProjectClient, looks_like_project_url
from clinaudio_gui.store.exchange import assign, import_folder
from clinaudio_gui.store.media import scan_audio


@pytest.fixture
def project(tmp_path, media):
    st = ProjectStore.init(f"sqlite:///{tmp_path / 'p.db'}", actor="lead")
    for n in ("alice", "bob"):
        st.add_person(n, "annotator")
    st.add_person("rita", "reviewer")
    st.register_recordings(scan_audio(media, media))
    assign(st, ["alice", "bob"], 1, seed=0)
    import_folder(st, media, "sprsound", "bob")
    return st


def client(project, who, media, **kw):
    return ProjectClient(project.url, store=ProjectStore(project.url, actor=who), media_root=media, **kw)


def test_queue_own_labels_versions(project, media):
    c = client(project, "alice", media)
    paths = c.recordings()
    assert len(paths) == 3 and all(p.parent == media.resolve() for p in paths)
    assert c.next_in_queue() == paths[0]
    a = c.load(paths[0])
    assert len(a) == 0 and a.record_label is None     # the expert JSON beside it is not shown
    a.add(Segment(0.5, 1.5, "Wheeze"))
    a.set_metadata("status", "done")
    assert "version 1" in c.save(paths[0], a) and not a.dirty
    assert c.next_in_queue() == paths[1]
    assert project.load(c.info(paths[0]).id, "alice").status == "done"
    # someone else changes the set meanwhile: this client's next save is refused, nothing overwritten
    b = c.load(paths[1])
    b.add(Segment(1, 2, "Rhonchi"))
    from clinaudio_gui.core.annotations import AnnotationSet
    project.save(c.info(paths[1]).id, "alice", AnnotationSet([Segment(3, 4, "Stridor")]), 0)
    with pytest.raises(ConflictError):
        c.save(paths[1], b)
    # a background re-read does not move the open set's base version
    c.load(paths[1])
    with pytest.raises(ConflictError):
        c.save(paths[1], b)


def test_autosave_restores_edits_with_their_base(project, media):
    c = client(project, "alice", media)
    p = c.recordings()[0]
    a = c.load(p)
    a.add(Segment(0, 1, "Wheeze"))
    c.autosave(p, a)
    c2 = client(project, "alice", media)           # the app restarts
    c2.recordings()
    r = c2.load(p)
    assert [s.label for s in r.segments] == ["Wheeze"] and r.dirty
    c2.save(p, r)
    assert not c2.autosave_path(p).exists()
    assert c2.load(p).segments[0].label == "Wheeze"


def test_reviewer_and_missing_files(project, media):
    r = client(project, "rita", media)
    assert r.owner == "consensus" and len(r.recordings()) == 6
    victim = sorted(media.glob("*.flac"))[0]
    victim.unlink()
    assert len(r.recordings()) == 5 and r.missing == [victim.name]
    with pytest.raises(StoreError, match="not a member"):
        client(project, "stranger", media)
    with pytest.raises(StoreError, match="media root"):
        ProjectClient(project.url, store=ProjectStore(project.url, actor="alice"), media_root=media / "nope")
    assert looks_like_project_url("postgresql://a@h/db") and not looks_like_project_url("/data/folder")
