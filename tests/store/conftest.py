"""A real, throwaway PostgreSQL server for the store tests (no mock database anywhere).

Session-scoped: initdb in a temporary folder, started on a free port, as the ``postgres`` user
when the tests run as root (the server refuses root). Passwords travel only through a libpq
password file (PGPASSFILE, mode 0600). Skips - with the reason - only when the PostgreSQL server
binaries are not installed (``make test`` installs the Debian package ``postgresql``).
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

SPRSOUND = Path("/work/shared/data/sprsound/train")
if not SPRSOUND.is_dir():
    SPRSOUND = Path(__file__).resolve().parents[2] / "shared" / "data" / "sprsound" / "train"


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    w = shutil.which("initdb")
    return Path(w).parent if w else None


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PgServer:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="clinaudio-pg-"))
        self.as_root = os.geteuid() == 0
        os.chmod(self.root, 0o755)
        self.data = self.root / "pg"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.host = "127.0.0.1"
        self.superpw = uuid.uuid4().hex
        self.passfile = self.root / "pgpass"
        (self.root / "pw").write_text(self.superpw)
        if self.as_root:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.root / "pw", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
                  "--auth-host=scram-sha-256", f"--pwfile={self.root / 'pw'}", "-E", "UTF8")
        self.passwords: dict[str, str] = {"postgres": self.superpw}
        self._write_passfile()

    def _run(self, exe: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / exe), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=self.root)
        if check and r.returncode != 0:
            raise RuntimeError(f"{exe} failed: {r.stdout}\n{r.stderr}")
        return r

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start", "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses={self.host} -c log_statement=all "
                  f"-c max_connections=60")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def _write_passfile(self) -> None:
        lines = [f"{self.host}:{self.port}:*:{u}:{p}" for u, p in self.passwords.items()]
        self.passfile.write_text("\n".join(lines) + "\n")
        os.chmod(self.passfile, 0o600)

    def set_password(self, user: str, password: str) -> None:
        self.passwords[user] = password
        self._write_passfile()

    def psql(self, sql: str, *, user: str = "postgres", db: str = "lab", check: bool = True) -> str:
        env = dict(os.environ, PGPASSFILE=str(self.passfile))
        r = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p", str(self.port),
                            "-U", user, "-d", db, "-c", sql], capture_output=True, text=True, env=env)
        if check and r.returncode != 0:
            raise RuntimeError(f"psql as {user} failed: {r.stderr}")
        return r.stdout.strip() if r.returncode == 0 else "ERROR: " + r.stderr.strip()

    def url(self, user: str, schema: str | None = None, db: str = "lab") -> str:
        u = f"postgresql://{user}@{self.host}:{self.port}/{db}"
        return u + (f"?schema={schema}" if schema else "")


@pytest.fixture(scope="session")
def pg_server():
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb) not installed: `make test` installs the Debian "
                    "package postgresql")
    srv = PgServer(bindir)
    old = os.environ.get("PGPASSFILE")
    os.environ["PGPASSFILE"] = str(srv.passfile)
    srv.start()
    try:
        srv.set_password("lead", "lead-" + uuid.uuid4().hex[:8])
        srv.psql(f"CREATE ROLE lead LOGIN CREATEROLE PASSWORD '{srv.passwords['lead']}'", db="postgres")
        srv.psql("CREATE DATABASE lab OWNER lead", db="postgres")
        yield srv
    finally:
        srv.stop("immediate")
        if old is None:
            os.environ.pop("PGPASSFILE", None)
        else:
            os.environ["PGPASSFILE"] = old
        shutil.rmtree(srv.root, ignore_errors=True)


@pytest.fixture
def pg_schema(pg_server) -> str:
    """A fresh schema per test: its own tables, group role and people."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def spr_files() -> list[Path]:
    """Six SPRSound recordings with their expert JSON, some with adventitious events."""
    if not SPRSOUND.is_dir():
        pytest.skip(f"SPRSound data not found at {SPRSOUND}")
    import json
    normal, adventitious = [], []
    for js in sorted(SPRSOUND.glob("*.json")):
        d = json.loads(js.read_text())
        has_events = any(e["type"] != "Normal" for e in d.get("event_annotation", []))
        (adventitious if has_events else normal).append(js.with_suffix(".flac"))
        if len(adventitious) >= 4 and len(normal) >= 2:
            break
    return normal[:2] + adventitious[:4]


@pytest.fixture
def media(tmp_path, spr_files) -> Path:
    """A media folder: the recordings and, beside them, their SPRSound JSON."""
    d = tmp_path / "media"
    d.mkdir()
    for f in spr_files:
        shutil.copy(f, d / f.name)
        shutil.copy(f.with_suffix(".json"), d / (f.stem + ".json"))
    return d


@pytest.fixture(autouse=True)
def _isolated_client_dirs(tmp_path, monkeypatch):
    """Media-root memory and journals of the client go to the test's folder, not ~."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("CLINAUDIO_JOURNAL_DIR", str(tmp_path / "journal"))
    monkeypatch.delenv("CLINAUDIO_MEDIA_ROOT", raising=False)
    monkeypatch.setenv("CLINAUDIO_USER", "lead")
