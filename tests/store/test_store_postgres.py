"""The project store on a real PostgreSQL server: login roles, row-level security (checked with
plain psql as each person's own role), passwords kept out of URLs, logs and files, conflicts, and
the offline journal across a server crash (pg_ctl -m immediate)."""
from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from clinaudio_gui.cli import main as cli_main
from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.segment import Segment
from clinaudio_gui.store import ConflictError, ProjectStore, StoreError, StoreUnavailable
from clinaudio_gui.store.journal import Journal, JournaledStore


def cli(*args, stdin: str | None = None, monkeypatch=None, capsys=None):
    if stdin is not None:
        import io
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    rc = cli_main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture
def team(pg_server, pg_schema, media, monkeypatch, capsys):
    """A project made through the CLI as the lead, with alice, bob (annotators) and rita (reviewer)."""
    s = pg_server
    url = s.url("lead", pg_schema)
    rc, out, err = cli("project", "init", s.url("lead"), "--schema", pg_schema, capsys=capsys)
    assert rc == 0, err
    assert url in out
    passwords = {}
    for name, role in (("alice", "annotator"), ("bob", "annotator"), ("rita", "reviewer")):
        name = f"{name}_{pg_schema}"          # login roles are cluster-wide: one set per test
        pw = "pw-" + uuid.uuid4().hex
        rc, out, err = cli("project", "user", url, "add", name, "--role", role, stdin=pw + "\n",
                           monkeypatch=monkeypatch, capsys=capsys)
        assert rc == 0, err
        s.set_password(name, pw)
        passwords[name] = pw
    rc, out, err = cli("project", "add", url, media, capsys=capsys)
    assert rc == 0 and "6 recording(s) added" in out, err
    names = list(passwords)
    return {"url": url, "schema": pg_schema, "alice": names[0], "bob": names[1], "rita": names[2],
            "passwords": passwords}


def user_url(pg_server, team, who):
    return pg_server.url(team[who], team["schema"])


def test_row_level_security_with_plain_sql(pg_server, team, media, capsys):
    s, sch = pg_server, team["schema"]
    alice, bob, rita = team["alice"], team["bob"], team["rita"]
    # the admin imports on alice's behalf; bob imports his own labels himself
    assert cli("project", "import", team["url"], media, "--from", "sprsound", "--as", alice, capsys=capsys)[0] == 0
    rc, out, err = cli("project", "import", user_url(s, team, "bob"), media, "--from", "sprsound", "--as", bob,
                       capsys=capsys)
    assert rc == 0, err
    total = int(s.psql(f"SELECT count(*) FROM {sch}.segment"))
    n_bob = int(s.psql(f"SELECT count(*) FROM {sch}.segment WHERE owner = '{bob}'"))
    assert total == 2 * n_bob > 0
    # as alice's own role: bob's labels do not exist for her
    assert s.psql(f"SELECT count(*) FROM {sch}.segment WHERE owner = '{bob}'", user=alice) == "0"
    assert s.psql(f"SELECT count(*) FROM {sch}.annotation_set WHERE owner <> '{alice}'", user=alice) == "0"
    assert s.psql(f"SELECT count(*) FROM {sch}.history WHERE owner = '{bob}'", user=alice) == "0"
    assert int(s.psql(f"SELECT count(*) FROM {sch}.segment", user=alice)) == n_bob
    # she can neither change nor add to them
    assert s.psql(f"UPDATE {sch}.segment SET label = 'x' WHERE owner = '{bob}'", user=alice) == "UPDATE 0"
    err = s.psql(f"INSERT INTO {sch}.annotation_set (recording_id, owner, updated_at, updated_by) "
                 f"VALUES (1, '{bob}', 0, '{alice}')", user=alice, check=False)
    assert err.startswith("ERROR") and "row-level security" in err
    err = s.psql(f"INSERT INTO {sch}.person (name, role, created_at) VALUES ('mallory', 'admin', 0)",
                 user=alice, check=False)
    assert "row-level security" in err
    # the reviewer reads everyone's labels, writes only the consensus
    assert int(s.psql(f"SELECT count(*) FROM {sch}.segment", user=rita)) == total
    assert s.psql(f"UPDATE {sch}.segment SET label = 'x' WHERE owner = '{bob}'", user=rita, check=False) \
        == "UPDATE 0"
    # through the app as alice: a clear one-line refusal
    a = ProjectStore(user_url(s, team, "alice"))
    assert a.me == alice and a.my_role == "annotator"
    with pytest.raises(StoreError, match="blind labeling"):
        a.load(1, bob)
    assert set(o for (_, o) in a.load_all()) == {alice}
    rc, out, err = cli("project", "agreement", user_url(s, team, "alice"), "--json", capsys=capsys)
    assert rc == 2 and "permission denied" in err and err.count("\n") == 1
    rc, out, err = cli("project", "agreement", user_url(s, team, "rita"), "--json", "--n-boot", "100",
                       capsys=capsys)
    assert rc == 0, err
    import json
    rep = json.loads(out)
    assert rep["record"]["cohen_kappa"] == 1.0 and rep["record"]["n"] == 6   # same expert labels twice
    assert rep["pairs"][0]["events"]["event_f1_micro"] == 1.0


def test_passwords_never_in_urls_logs_or_files(pg_server, team, tmp_path, capsys):
    s = pg_server
    log = s.log.read_text(errors="replace")
    assert "CREATE ROLE" in log                       # the statement is logged (log_statement=all) ...
    for pw in team["passwords"].values():
        assert pw not in log                          # ... with a SCRAM verifier, never the password
        for f in tmp_path.rglob("*"):
            if f.is_file():
                assert pw.encode() not in f.read_bytes(), f
    # a URL with a password in it: the message names the URL without it
    bad = s.url("lead", team["schema"]).replace("lead@", "lead:hunter2secret@")
    rc, out, err = cli("project", "status", bad, capsys=capsys)
    assert rc == 2 and "hunter2secret" not in err and "lead@" in err and err.count("\n") == 1


def test_cli_errors_are_one_line_without_traceback(pg_server, team, capsys):
    s = pg_server
    # wrong password (via a separate process with its own password file)
    pf = s.root / f"wrong-{team['schema']}"
    pf.write_text(f"{s.host}:{s.port}:*:{team['alice']}:not-her-password\n")
    pf.chmod(0o600)
    import os
    env = dict(os.environ, PGPASSFILE=str(pf))
    r = subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", "project", "status",
                        user_url(s, team, "alice"), "--json"], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "password authentication failed" in r.stderr and user_url(s, team, "alice") in r.stderr
    # unreachable server
    rc, out, err = cli("project", "status", f"postgresql://lead@127.0.0.1:1/lab", capsys=capsys)
    assert rc == 2 and "server unavailable" in err and "127.0.0.1:1/lab" in err
    # missing permission: an annotator adding people or recordings
    rc, out, err = cli("project", "user", user_url(s, team, "alice"), "add", "mallory", "--role", "admin",
                       capsys=capsys)
    assert rc == 2 and "needs admin" in err
    # unknown annotator / recording
    rc, out, err = cli("project", "export", team["url"], s.root / "out", "--to", "csv", "--annotator", "nobody",
                       capsys=capsys)
    assert rc == 2 and "unknown annotator 'nobody'" in err
    rc, out, err = cli("project", "assign", team["url"], "--annotators", f"{team['alice']},ghost",
                       "--per-recording", "1", capsys=capsys)
    assert rc == 2 and "unknown annotator 'ghost'" in err


def test_conflict_between_two_clients_is_refused(pg_server, team):
    s = pg_server
    a1 = ProjectStore(user_url(s, team, "alice"))
    a2 = ProjectStore(user_url(s, team, "alice"))
    rec = a1.recordings()[0]
    me = team["alice"]
    assert a1.save(rec.id, me, AnnotationSet([Segment(0, 1, "Wheeze")]), 0) == 1
    assert a2.load(rec.id, me).version == 1
    assert a2.save(rec.id, me, AnnotationSet([Segment(0, 2, "Wheeze")]), 1) == 2
    with pytest.raises(ConflictError) as e:
        a1.save(rec.id, me, AnnotationSet([Segment(5, 6, "Stridor")]), 1)
    assert e.value.server_version == 2
    assert a1.load(rec.id, me).annotations.segments[0].end_s == 2
    h = a1.history(rec.id, me)
    assert [x["version"] for x in h] == [1, 2] and h[1]["before"] == h[0]["after"]
    assert h[1]["after"]["segments"][0]["end_s"] == 2 and h[1]["changed_by"] == me


def test_journal_survives_a_server_crash(pg_server, team, tmp_path):
    """Saves acknowledged before the crash stay; saves made while the server is down go to the
    journal; after a restart the journal is written through: nothing lost, nothing doubled."""
    s = pg_server
    st = ProjectStore(user_url(s, team, "alice"))
    js = JournaledStore(st, Journal(tmp_path / "alice.jsonl"))
    me = team["alice"]
    recs = st.recordings()[:3]
    version = {r.id: 0 for r in recs}
    expected = {}
    for i, r in enumerate(recs):
        a = AnnotationSet([Segment(0.1 * i, 1.0, "Wheeze")], "CAS")
        kind, version[r.id] = js.save(r.id, me, a, version[r.id])
        assert kind == "saved"
        expected[r.id] = a
    s.stop("immediate")
    try:
        with pytest.raises(StoreUnavailable):
            st.load(recs[0].id, me)
        for k in range(4):          # keep labeling while the server is gone
            for r in recs:
                a = AnnotationSet([Segment(0.1 * k, 1.0 + k, "Wheeze"), Segment(2, 3 + k, "Crackle")], "CAS & DAS")
                kind, version[r.id] = js.save(r.id, me, a, version[r.id])
                assert kind == "journaled"
                expected[r.id] = a
        assert len(js.journal) == 12
    finally:
        s.start()
    # one journaled save went through before the crash but its answer was lost: simulate by applying it
    first = js.journal.entries()[0]
    st.save(first["recording_id"], me, AnnotationSet.from_dict(first["content"]), first["base_version"],
            op_id=first["op_id"])
    out = js.replay()
    assert out == {"applied": 11, "already_applied": 1, "conflicts": [], "pending": 0, "server": "available"}
    assert len(js.journal) == 0
    for r in recs:
        ls = st.load(r.id, me)
        assert ls.version == 5
        assert [(x.start_s, x.end_s, x.label) for x in ls.annotations.segments] == \
               [(x.start_s, x.end_s, x.label) for x in expected[r.id].segments]
        assert [h["version"] for h in st.history(r.id, me)] == [1, 2, 3, 4, 5]
    assert js.replay()["applied"] == 0     # replaying again changes nothing


def test_journal_keeps_a_conflicting_entry(pg_server, team, tmp_path):
    s = pg_server
    me = team["alice"]
    st = ProjectStore(user_url(s, team, "alice"))
    rec = st.recordings()[1]
    js = JournaledStore(st, Journal(tmp_path / "j.jsonl"))
    js.journal.append({"op_id": "x1", "recording_id": rec.id, "owner": me, "base_version": 0, "status": None,
                       "at": 0, "content": AnnotationSet([Segment(0, 1, "Wheeze")]).to_dict()})
    admin = ProjectStore(team["url"])
    admin.save(rec.id, me, AnnotationSet([Segment(3, 4, "Rhonchi")]), 0)   # someone saved meanwhile
    out = js.replay()
    assert out["applied"] == 0 and len(out["conflicts"]) == 1 and out["pending"] == 1
    assert st.load(rec.id, me).annotations.segments[0].label == "Rhonchi"   # not overwritten


def test_old_postgres_project_upgrades_in_place(pg_server, pg_schema):
    """A PostgreSQL project at revision 0001 (no versions, no row-level security) upgrades when
    its admin opens it: labels kept, policies in place."""
    import sqlalchemy as sa
    from clinaudio_gui.store import db as store_db
    from clinaudio_gui.store.url import parse_url
    s = pg_server
    url = parse_url(s.url("lead", pg_schema))
    eng = store_db.make_engine(url)
    with eng.begin() as c:
        c.exec_driver_sql(f"CREATE SCHEMA {pg_schema}")
        store_db.upgrade(c, "0001")
        c.exec_driver_sql("INSERT INTO person (name, role, db_role, created_at) VALUES ('lead', 'admin', 'lead', 0)")
        c.exec_driver_sql("INSERT INTO recording (sha256, rel_path, name, added_at) VALUES (repeat('a', 64), 'x.wav',"
                          " 'x', 0)")
        c.exec_driver_sql("INSERT INTO annotation_set (recording_id, owner, record_label) VALUES (1, 'lead', 'DAS')")
        c.exec_driver_sql("INSERT INTO segment (set_id, owner, uid, start_s, end_s, label) "
                          "VALUES (1, 'lead', 'u', 1, 2, 'Fine Crackle')")
    eng.dispose()
    st = ProjectStore(url)
    assert st.status()["schema_revision"] == store_db.HEAD_REVISION
    ls = st.load(1, "lead")
    assert ls.version == 1 and ls.annotations.segments[0].label == "Fine Crackle"
    assert s.psql(f"SELECT relrowsecurity FROM pg_class WHERE oid = '{pg_schema}.segment'::regclass") == "t"


def test_server_killed_mid_import_then_rerun(pg_server, team, media, tmp_path, capsys):
    """Half the files are in when the server dies: the import fails in one line, the acknowledged
    half stays, and the same import after the restart adds the rest - nothing doubled."""
    import shutil
    s = pg_server
    half = tmp_path / "half"
    half.mkdir()
    for js in sorted(media.glob("*.json"))[:3]:
        shutil.copy(js, half / js.name)
    alice = team["alice"]
    assert cli("project", "import", team["url"], half, "--from", "sprsound", "--as", alice, capsys=capsys)[0] == 0
    s.stop("immediate")
    try:
        rc, out, err = cli("project", "import", team["url"], media, "--from", "sprsound", "--as", alice, capsys=capsys)
        assert rc == 2 and "server unavailable" in err and err.count("\n") == 1
    finally:
        s.start()
    rc, out, err = cli("project", "import", team["url"], media, "--from", "sprsound", "--as", alice, capsys=capsys)
    assert rc == 0 and "3 imported, 3 unchanged" in out, out + err
    sch = team["schema"]
    assert s.psql(f"SELECT count(*) FROM {sch}.history WHERE owner = '{alice}'") == "6"
    assert s.psql(f"SELECT count(DISTINCT recording_id) FROM {sch}.annotation_set WHERE owner = '{alice}'") == "6"


def test_gui_keeps_labeling_while_the_server_is_down(qtbot, pg_server, team, media, monkeypatch, isolated_qsettings):
    """The real main window on a PostgreSQL project: the server is killed mid-labeling, saves go
    to the journal (and the queue says so), the server returns, the journal is written through."""
    from clinaudio_gui.store.exchange import assign
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    s = pg_server
    admin = ProjectStore(team["url"])
    assign(admin, [team["alice"], team["bob"]], 1, seed=0)
    monkeypatch.setenv("CLINAUDIO_MEDIA_ROOT", str(media))
    w = QtMainWindow(load_panels=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert w.open_path(user_url(s, team, "alice"))
    q = w.project_queue
    path = w.current_path()
    me = team["alice"]
    rec = q.client.info(path)
    w.current_annotations().add(Segment(0.5, 1.5, "Wheeze"))
    assert w.save() and admin.load(rec.id, me).version == 1
    s.stop("immediate")
    try:
        for k in range(3):
            w.current_annotations().add(Segment(2.0 + k, 2.5 + k, "Rhonchi"))
            assert w.save()
            assert "offline journal" in w.statusBar().currentMessage()
        q._update_header()
        assert "OFFLINE" in q.header.text() and "3 pending" in q.header.text()
    finally:
        s.start()
    out = q.replay()
    assert out["applied"] == 3 and out["pending"] == 0 and "online" in q.header.text()
    ls = admin.load(rec.id, me)
    assert ls.version == 4 and [x.label for x in ls.annotations.segments] == ["Wheeze", "Rhonchi", "Rhonchi", "Rhonchi"]
    w.current_annotations().add(Segment(7, 8, "Stridor"))
    assert w.save() and admin.load(rec.id, me).version == 5       # online again, straight to the server
    w.close()
