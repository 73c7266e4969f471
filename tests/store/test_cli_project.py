"""The `clinaudio project` contract on SQLite, through the real entry point (a subprocess for the
never-a-traceback checks)."""
from __future__ import annotations

import json
import subprocess
import sys

from clinaudio_gui.cli import main as cli_main


def run(capsys, *args):
    rc = cli_main([str(a) for a in args])
    o = capsys.readouterr()
    return rc, o.out, o.err


def test_project_workflow(tmp_path, media, capsys, monkeypatch):
    db = tmp_path / "lab.db"
    url = f"sqlite:///{db}"
    assert run(capsys, "project", "init", db)[0] == 0            # a plain path is SQLite
    for n in ("alice", "bob", "carol"):
        assert run(capsys, "project", "user", url, "add", n, "--role", "annotator")[0] == 0
    assert run(capsys, "project", "user", url, "add", "rita", "--role", "reviewer")[0] == 0
    rc, out, err = run(capsys, "project", "add", url, media)
    assert rc == 0 and "6 recording(s) added" in out
    rc, out, err = run(capsys, "project", "assign", url, "--annotators", "alice,bob,carol", "--per-recording", "2",
                       "--seed", "5")
    assert rc == 0 and "12 new assignment(s)" in out and "alice 4, bob 4, carol 4" in out
    for n in ("alice", "bob", "carol"):
        rc, out, err = run(capsys, "project", "import", url, media, "--from", "sprsound", "--as", n)
        assert rc == 0 and "6 imported" in out, err
    rc, out, err = run(capsys, "project", "import", url, media, "--from", "sprsound", "--as", "bob")
    assert rc == 0 and "0 imported, 6 unchanged" in out
    rc, out, err = run(capsys, "project", "agreement", url, "--json", "--n-boot", "50")
    rep = json.loads(out)
    assert rc == 0 and any("kappa" in k for k in rep["record"]) and "krippendorff_alpha" in rep["record"]
    assert rep["record"]["fleiss_kappa"] == 1.0 and rep["record"]["fleiss_n"] == 6
    assert len(rep["pairs"]) == 3 and all(p["record"]["cohen_kappa"] == 1.0 for p in rep["pairs"])
    assert all("per_class" in p["events"] for p in rep["pairs"])
    rc, out, err = run(capsys, "project", "agreement", url, "--annotators", "alice,bob", "--json", "--n-boot", "50")
    rep = json.loads(out)
    assert rep["record"]["cohen_kappa"] == 1.0 and rep["record"]["n"] == 6 and len(rep["record"]["ci95"]) == 2
    rc, out, err = run(capsys, "project", "status", url, "--json")
    st = json.loads(out)
    assert st["recordings"] == 6 and st["progress"]["alice"] == {"assigned": 4, "started": 4, "done": 4, "sets": 6}
    assert st["missing_files"] == 0 and st["me"] == "lead"
    rc, out, err = run(capsys, "project", "export", url, tmp_path / "out", "--to", "csv", "--annotator", "alice")
    assert rc == 0 and len(list((tmp_path / "out").glob("*.csv"))) == 6
    rc, out, err = run(capsys, "project", "export", url, tmp_path / "cons", "--to", "csv", "--consensus")
    assert rc == 0 and "0 file(s)" in out
    # a file that went missing on this machine is named
    victim = sorted(media.glob("*.flac"))[0]
    victim.unlink()
    rc, out, err = run(capsys, "project", "status", url, "--json")
    st = json.loads(out)
    assert st["missing_files"] == 1 and st["missing_examples"] == [victim.name]


def test_errors_are_one_line_exit_2(tmp_path, media, capsys):
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    cases = [
        (("project", "status", url), "no project file"),
        (("project", "init", "mysql://x@y/z"), "unsupported URL"),
        (("project", "init", tmp_path / "nofolder" / "x.db"), "does not exist"),
    ]
    for args, words in cases:
        rc, out, err = run(capsys, *args)
        assert rc == 2 and words in err and err.count("\n") == 1, err
    run(capsys, "project", "init", url)
    for args, words in [
        (("project", "import", url, media, "--from", "sprsound", "--as", "ghost"), "unknown annotator 'ghost'"),
        (("project", "import", url, media, "--from", "pdf", "--as", "lead"), "unknown annotation format"),
        (("project", "export", url, tmp_path / "o", "--to", "csv", "--annotator", "ghost"), "unknown annotator"),
        (("project", "assign", url, "--annotators", "lead", "--per-recording", "2"), "--per-recording 2"),
        (("project", "add", url, tmp_path / "nope"), "folder not found"),
    ]:
        rc, out, err = run(capsys, *args)
        assert rc == 2 and words in err and err.count("\n") == 1, err
    # another OS user (not a member) cannot administer; a subprocess shows no traceback
    r = subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", "project", "add", url, str(media)],
                       capture_output=True, text=True, env={"CLINAUDIO_USER": "mallory", "PATH": "/usr/bin:/bin",
                                                            "HOME": str(tmp_path)})
    assert r.returncode == 2 and "not a member" in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1
