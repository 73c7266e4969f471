"""Project URLs and the store's errors.

``sqlite:///PATH`` or a plain path means an embedded SQLite project (one file);
``postgresql://USER@HOST:PORT/DB`` a PostgreSQL one, optionally ``?schema=NAME`` (default
``clinaudio``). A password never belongs in the URL: libpq's password file (``PGPASSFILE``,
``~/.pgpass``), a prompt or the system keyring supply it. Every message the store shows names
the URL with any password removed (:func:`redact`).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from clinaudio_gui.core.errors import ClinAudioError

DEFAULT_SCHEMA = "clinaudio"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class StoreError(ClinAudioError):
    """A project store problem the user can act on; ``path`` is the redacted URL."""


class ConflictError(StoreError):
    """An annotation set was changed elsewhere since this client loaded it (its version moved on)."""

    def __init__(self, problem: str, *, path: str | None = None, server_version: int = 0,
                 server_content: dict | None = None):
        super().__init__(problem, path=path)
        self.server_version = server_version
        self.server_content = server_content


class StoreUnavailable(StoreError):
    """The database server cannot be reached (the client may keep working into its journal)."""


def redact(url: str) -> str:
    """The URL without a password (``postgresql://u:secret@h/db`` -> ``postgresql://u@h/db``)."""
    return re.sub(r"(//[^/:@]*):[^@/]*@", r"\1@", str(url))


def check_identifier(name: str, what: str = "name") -> str:
    """Role, schema and person names become SQL identifiers: lower-case letters, digits, _."""
    if not isinstance(name, str) or not _IDENT.match(name):
        raise StoreError(f"{what} {name!r} must be 1-63 lower-case letters, digits or _ "
                         f"(starting with a letter or _)")
    return name


@dataclass(frozen=True)
class ProjectURL:
    """A parsed project URL. ``sqlalchemy_url`` never carries a password."""

    raw: str
    backend: str               # "sqlite" | "postgresql"
    path: Path | None = None   # SQLite file
    user: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    schema: str = DEFAULT_SCHEMA
    password: str | None = None  # only if the user put one in the URL (discouraged); never printed

    @property
    def display(self) -> str:
        return redact(self.raw)

    @property
    def sqlalchemy_url(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.path}"
        host = self.host or ""
        port = f":{self.port}" if self.port else ""
        user = f"{self.user}@" if self.user else ""
        return f"postgresql+psycopg://{user}{host}{port}/{self.database}"

    def with_schema(self, schema: str) -> "ProjectURL":
        from dataclasses import replace
        return replace(self, schema=check_identifier(schema, "schema"))

    def user_facing(self) -> str:
        """The URL to give to other commands (schema included when it is not the default)."""
        if self.backend == "sqlite":
            return f"sqlite:///{self.path}"
        s = f"postgresql://{self.user + '@' if self.user else ''}{self.host or ''}"
        s += f":{self.port}" if self.port else ""
        s += f"/{self.database}"
        return s + (f"?schema={self.schema}" if self.schema != DEFAULT_SCHEMA else "")


def parse_url(url: str | os.PathLike) -> ProjectURL:
    raw = str(url)
    if raw.startswith("sqlite:"):
        if not raw.startswith("sqlite:///"):
            raise StoreError("a SQLite URL is sqlite:///PATH", path=redact(raw))
        p = raw[len("sqlite:///"):]
        if not p or p == ":memory:":
            raise StoreError("a SQLite project needs a file path", path=raw)
        # sqlite:////abs/path and sqlite:///rel/path, as SQLAlchemy reads them
        return ProjectURL(raw, "sqlite", path=Path(p).expanduser().resolve())
    if raw.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        parts = urlsplit(raw)
        q = parse_qs(parts.query)
        unknown = set(q) - {"schema"}
        if unknown:
            raise StoreError(f"unknown URL parameter(s) {', '.join(sorted(unknown))} (only ?schema=NAME)",
                             path=redact(raw))
        schema = check_identifier(q.get("schema", [DEFAULT_SCHEMA])[-1], "schema")
        db = parts.path.lstrip("/")
        if not db:
            raise StoreError("a PostgreSQL URL names the database: postgresql://USER@HOST:PORT/DB",
                             path=redact(raw))
        try:
            port = parts.port
        except ValueError:
            raise StoreError("the port is not a number", path=redact(raw)) from None
        return ProjectURL(raw, "postgresql", user=unquote(parts.username) if parts.username else None,
                          host=parts.hostname, port=port, database=unquote(db), schema=schema,
                          password=unquote(parts.password) if parts.password else None)
    if "://" in raw:
        raise StoreError("unsupported URL (use sqlite:///PATH, a file path, or postgresql://USER@HOST:PORT/DB)",
                         path=redact(raw))
    return ProjectURL(raw, "sqlite", path=Path(raw).expanduser().resolve())
