"""The project store on SQLite: registration, people, assignment, import/export, versions, history,
agreement and in-place migration, on real SPRSound recordings and their expert labels."""
from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.errors import AudioFileError
from clinaudio_gui.core.segment import Segment
from clinaudio_gui.io.formats import read_annotations
from clinaudio_gui.store import ConflictError, ProjectStore, StoreError
from clinaudio_gui.store import db as store_db
from clinaudio_gui.store.agreement import cohen, many_raters, project_agreement
from clinaudio_gui.store.exchange import assign, balanced_assignment, export_sets, import_folder
from clinaudio_gui.store.media import audio_path, media_root_for, remember_media_root, scan_audio


@pytest.fixture
def project(tmp_path, media):
    st = ProjectStore.init(f"sqlite:///{tmp_path / 'p.db'}", actor="lead")
    st.add_person("alice", "annotator")
    st.add_person("bob", "annotator")
    st.add_person("rita", "reviewer")
    st.register_recordings(scan_audio(media, media))
    return st


def as_(st: ProjectStore, who: str) -> ProjectStore:
    return ProjectStore(st.url, actor=who)


def test_recordings_by_hash_and_relative_path(project, media, tmp_path):
    recs = project.recordings()
    assert len(recs) == 6
    r = recs[0]
    assert len(r.sha256) == 64 and "/" not in r.rel_path and r.duration_s > 0
    # the same files again: nothing new; a moved file keeps its identity (same sha256)
    sub = media / "moved"
    sub.mkdir()
    (media / r.rel_path).rename(sub / r.rel_path)
    out = project.register_recordings(scan_audio(media, media))
    assert out == {"added": 0, "moved": 1, "unchanged": 5}
    assert project.recording(r.sha256).rel_path == f"moved/{r.rel_path}"
    # a client whose media root lacks the file gets it named
    other_root = tmp_path / "elsewhere"
    other_root.mkdir()
    with pytest.raises(AudioFileError) as e:
        audio_path(project.recording(r.sha256), other_root)
    assert r.name in str(e.value) and str(other_root) in str(e.value)
    assert audio_path(project.recording(r.sha256), media) == sub / r.rel_path


def test_media_root_per_client(project, media, tmp_path, monkeypatch):
    url = project.url.user_facing()
    assert media_root_for(url, None) is None
    remember_media_root(url, media)
    assert media_root_for(url, None) == media.resolve()
    monkeypatch.setenv("CLINAUDIO_MEDIA_ROOT", str(tmp_path))
    assert media_root_for(url, None) == tmp_path.resolve()


def test_roles_are_checked(project):
    alice = as_(project, "alice")
    assert alice.my_role == "annotator"
    with pytest.raises(StoreError, match="needs admin"):
        alice.add_person("mallory", "admin")
    rec = project.recordings()[0]
    with pytest.raises(StoreError, match="may not write 'bob'"):
        alice.save(rec.id, "bob", AnnotationSet(), 0)
    with pytest.raises(StoreError, match="blind labeling"):
        alice.load(rec.id, "bob")
    with pytest.raises(StoreError, match="not a member"):
        as_(project, "stranger").add_person("x", "annotator")
    rita = as_(project, "rita")
    rita.save(rec.id, "consensus", AnnotationSet([Segment(0, 1, "Wheeze", annotator="bob")]), 0)
    assert rita.load(rec.id, "consensus").annotations.segments[0].annotator == "bob"
    with pytest.raises(StoreError, match="unknown role"):
        project.add_person("zoe", "boss")
    with pytest.raises(StoreError, match="lower-case"):
        project.add_person("Robert'); DROP TABLE person; --", "annotator")


def test_versions_refuse_a_conflicting_save_and_history_records_it(project):
    rec = project.recordings()[0]
    alice = as_(project, "alice")
    v1 = alice.save(rec.id, "alice", AnnotationSet([Segment(0.5, 1.0, "Wheeze")]), 0)
    assert v1 == 1
    # the admin edits alice's set elsewhere (e.g. an import on her behalf)
    v2 = project.save(rec.id, "alice", AnnotationSet([Segment(0.5, 1.2, "Wheeze")]), 1)
    assert v2 == 2
    with pytest.raises(ConflictError) as e:
        alice.save(rec.id, "alice", AnnotationSet([Segment(2.0, 3.0, "Rhonchi")]), 1)
    assert e.value.server_version == 2 and e.value.server_content["segments"][0]["end_s"] == 1.2
    assert alice.load(rec.id, "alice").annotations.segments[0].end_s == 1.2   # not overwritten
    h = alice.history(rec.id, "alice")
    assert [x["version"] for x in h] == [1, 2]
    assert [x["changed_by"] for x in h] == ["alice", "lead"]
    assert h[0]["before"] is None and h[1]["before"]["segments"][0]["end_s"] == 1.0
    assert h[1]["after"]["segments"][0]["end_s"] == 1.2
    # an op id makes a repeated save a no-op
    v3 = alice.save(rec.id, "alice", AnnotationSet([Segment(4, 5, "Stridor")]), 2, op_id="op-1")
    assert alice.save(rec.id, "alice", AnnotationSet([Segment(4, 5, "Stridor")]), 2, op_id="op-1") == v3 == 3
    assert len(alice.history(rec.id, "alice")) == 3


def test_unknown_recording_and_annotator(project):
    with pytest.raises(StoreError, match="unknown recording"):
        project.recording("no_such_file")
    with pytest.raises(StoreError, match="unknown recording id"):
        project.save(99999, "alice", AnnotationSet(), 0)
    with pytest.raises(StoreError, match="unknown annotator 'carl'"):
        assign(project, ["alice", "carl"], 1)


def test_balanced_seeded_assignment():
    recs = list(range(1, 101))
    pairs = balanced_assignment(recs, ["a", "b", "c"], 2, seed=7)
    per_rec = Counter(r for r, _ in pairs)
    assert set(per_rec.values()) == {2} and len(per_rec) == 100
    assert all(len({a for r2, a in pairs if r2 == r}) == 2 for r in recs[:10])
    load = Counter(a for _, a in pairs)
    assert max(load.values()) - min(load.values()) <= 1 and sum(load.values()) == 200
    assert pairs == balanced_assignment(recs, ["a", "b", "c"], 2, seed=7)
    assert pairs != balanced_assignment(recs, ["a", "b", "c"], 2, seed=8)
    # topping up keeps what exists and stays balanced
    existing = {r: ["a"] for r in recs[:30]}
    more = balanced_assignment(recs, ["a", "b", "c"], 2, seed=1, existing=existing)
    load = Counter(a for _, a in more) + Counter(a for v in existing.values() for a in v)
    assert max(load.values()) - min(load.values()) <= 1
    with pytest.raises(StoreError):
        balanced_assignment(recs, ["a", "b"], 3, seed=0)


def test_queue_is_the_next_assigned_recording(project):
    out = assign(project, ["alice", "bob"], 1, seed=3)
    assert out["new_assignments"] == 6 and set(out["load"].values()) == {3}
    assert assign(project, ["alice", "bob"], 1, seed=3)["new_assignments"] == 0   # idempotent
    alice = as_(project, "alice")
    q = alice.queue()
    assert len(q) == 3
    alice.save(q[0].id, "alice", AnnotationSet(), 0, status="done")
    assert [r.id for r in alice.queue()] == [r.id for r in q[1:]]
    with pytest.raises(StoreError):
        alice.queue("bob")


def test_import_is_idempotent_and_export_round_trips(project, media, tmp_path):
    out = import_folder(project, media, "sprsound", "alice")
    assert out["imported"] == 6 and out["unchanged"] == 0
    n_hist = project.history_count()
    again = import_folder(project, media, "sprsound", "alice")
    assert again["imported"] == 0 and again["unchanged"] == 6
    assert project.history_count() == n_hist
    for fmt in ("sprsound", "csv", "textgrid", "clinaudio"):
        d = export_sets(project, tmp_path / f"out_{fmt}", fmt, "alice")
        assert d["written"] == 6
    for rec in project.recordings():
        orig = read_annotations(media / f"{rec.name}.json", "sprsound")
        back = read_annotations(tmp_path / "out_sprsound" / f"{rec.name}.json", "sprsound")
        assert back.record_label == orig.record_label
        assert [(s.start_s, s.end_s, s.label) for s in back.sorted_segments()] == \
               [(s.start_s, s.end_s, s.label) for s in orig.sorted_segments()]
        assert all(s.annotator == "alice" for s in project.load(rec.id, "alice").annotations.segments)
    # a CSV export comes back in unchanged
    assert import_folder(project, tmp_path / "out_csv", "csv", "alice")["unchanged"] == 6
    with pytest.raises(StoreError, match="matches a registered"):
        import_folder(project, tmp_path / "out_csv", "icbhi", "alice")


def test_agreement_matches_the_libraries(project, media, tmp_path):
    from sklearn.metrics import cohen_kappa_score
    import_folder(project, media, "sprsound", "alice")
    recs = project.recordings()
    # bob agrees on all record labels but one, and misses one wheeze
    labels_b = {}
    for i, rec in enumerate(recs):
        a = project.load(rec.id, "alice").annotations
        lab = a.record_label if i != 0 else ("CAS" if a.record_label != "CAS" else "Normal")
        segs = list(a.segments)
        if i == 2 and segs:
            segs = segs[1:]
        project.save(rec.id, "bob", AnnotationSet([s.replace(annotator="bob") for s in segs], lab), 0)
        labels_b[rec.id] = lab
    rep = project_agreement(project, n_boot=200)
    la = [project.load(r.id, "alice").annotations.record_label for r in sorted(recs, key=lambda r: r.name)]
    lb = [labels_b[r.id] for r in sorted(recs, key=lambda r: r.name)]
    assert rep["record"]["cohen_kappa"] == pytest.approx(cohen_kappa_score(la, lb), abs=1e-4)
    assert rep["record"]["n"] == 6 and rep["record"]["cohen_kappa"] < 1.0
    lo, hi = rep["record"]["ci95"]
    assert lo is None or lo <= rep["record"]["cohen_kappa"] <= hi
    pair = rep["pairs"][0]
    assert sum(map(sum, pair["confusion"]["matrix"])) == 6
    ev = pair["events"]
    assert ev["n_events"][0] >= ev["n_events"][1]
    assert ev["event_f1_micro"] is not None and 0 < ev["event_f1_micro"] <= 1
    assert rep["progress"]["alice"]["sets"] == 6
    blind = as_(project, "alice")
    with pytest.raises(StoreError, match="blind"):
        project_agreement(blind, ["alice", "bob"])


def test_many_raters_uses_fleiss_and_krippendorff():
    import krippendorff
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
    rng = np.random.default_rng(0)
    truth = rng.choice(["N", "CAS", "DAS"], 40)
    table = [[t if rng.random() > 0.2 else rng.choice(["N", "CAS", "DAS"]) for _ in range(3)] for t in truth]
    table[0][2] = None
    out = many_raters(table, n_boot=100)
    full = [r for r in table if None not in r]
    codes = {"CAS": 0, "DAS": 1, "N": 2}
    counts, _ = aggregate_raters(np.array([[codes[x] for x in r] for r in full]), n_cat=3)
    assert out["fleiss_kappa"] == pytest.approx(fleiss_kappa(counts), abs=1e-4) and out["fleiss_n"] == 39
    rel = np.array([[np.nan if x is None else codes[x] for x in r] for r in table], float).T
    assert out["krippendorff_alpha"] == pytest.approx(krippendorff.alpha(reliability_data=rel,
                                                                         level_of_measurement="nominal"), abs=1e-4)
    assert out["krippendorff_n"] == 40 and None not in out["krippendorff_alpha_ci95"]
    same = cohen(["a", "b", "a", "b"], ["a", "b", "a", "b"], n_boot=50)
    assert same["cohen_kappa"] == 1.0 and same["observed_agreement"] == 1.0


def test_an_older_project_upgrades_in_place(tmp_path):
    """A project made at the first revision (no versions, no history) opens with today's code:
    the schema is upgraded and every label kept."""
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    eng = sa.create_engine(url)
    with eng.begin() as c:
        store_db.upgrade(c, "0001")
        c.exec_driver_sql("INSERT INTO person (name, role, created_at) VALUES ('lead', 'admin', 0)")
        c.exec_driver_sql("INSERT INTO person (name, role, created_at) VALUES ('alice', 'annotator', 0)")
        c.exec_driver_sql("INSERT INTO recording (sha256, rel_path, name, added_at) VALUES ('ab' || hex(zeroblob(31)),"
                          " 'a/x.wav', 'x', 0)")
        c.exec_driver_sql("INSERT INTO annotation_set (recording_id, owner, record_label) VALUES (1, 'alice', 'CAS')")
        c.exec_driver_sql("INSERT INTO segment (set_id, owner, uid, start_s, end_s, label) "
                          "VALUES (1, 'alice', 'u1', 0.5, 1.5, 'Wheeze')")
    eng.dispose()
    assert sqlite3.connect(path).execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
    st = ProjectStore(url, actor="lead")
    assert st.status()["schema_revision"] == store_db.HEAD_REVISION
    ls = st.load(1, "alice")
    assert ls.version == 1 and ls.annotations.record_label == "CAS"
    assert [(s.start_s, s.end_s, s.label) for s in ls.annotations.segments] == [(0.5, 1.5, "Wheeze")]
    assert st.save(1, "alice", AnnotationSet([Segment(0, 1, "Rhonchi")], "CAS"), 1) == 2
    assert st.history(1, "alice")[0]["before"]["segments"][0]["label"] == "Wheeze"
    with pytest.raises(StoreError, match="revision"):
        eng = sa.create_engine(f"sqlite:///{tmp_path / 'old2.db'}")
        with eng.begin() as c:
            store_db.upgrade(c, "0001")
        ProjectStore(f"sqlite:///{tmp_path / 'old2.db'}", actor="lead", upgrade=False)


def test_not_a_project_and_init_twice(tmp_path):
    (tmp_path / "empty.db").write_bytes(b"")
    with pytest.raises(StoreError, match="not a ClinAudio project"):
        ProjectStore(f"sqlite:///{tmp_path / 'empty.db'}")
    ProjectStore.init(tmp_path / "p.db", actor="lead")
    with pytest.raises(StoreError, match="already a ClinAudio project"):
        ProjectStore.init(tmp_path / "p.db", actor="lead")
