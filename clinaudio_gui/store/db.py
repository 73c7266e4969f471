"""Engines, migrations and error translation for both backends.

SQLite: WAL mode (readers never wait for the writer), a busy timeout, foreign keys on, and
``BEGIN IMMEDIATE`` so that two processes saving at once queue instead of failing. PostgreSQL:
psycopg 3, ``search_path`` set to the project's schema, a short connect timeout, the password
from libpq's password file, the URL (discouraged) or a callback (a prompt) - never logged.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

from clinaudio_gui.store.url import ProjectURL, StoreError, StoreUnavailable

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
HEAD_REVISION = "0003"

_AUTH_WORDS = ("password authentication failed", "no password supplied", "authentication failed",
               "does not exist", "pg_hba.conf", "permission denied")


def _first_line(e: BaseException) -> str:
    orig = getattr(e, "orig", None) or e
    text = str(orig).strip().splitlines()
    line = text[0] if text else type(orig).__name__
    return line.replace("FATAL:  ", "").replace("ERROR:  ", "").strip()


def translate(e: BaseException, url: ProjectURL) -> StoreError:
    """One line naming the problem (the URL is added by StoreError's ``path``)."""
    if isinstance(e, StoreError):
        return e
    msg = _first_line(e)
    if url.password:
        msg = msg.replace(url.password, "***")
    low = msg.lower()
    if isinstance(e, OperationalError) or (isinstance(e, DBAPIError) and e.connection_invalidated):
        if any(w in low for w in _AUTH_WORDS):
            if "no password supplied" in low:
                msg = "the server asks for a password and none was given (use a libpq password file: PGPASSFILE)"
            return StoreError(msg, path=url.display)
        if url.backend == "sqlite":
            return StoreError(f"cannot open the project database: {msg}", path=url.display)
        return StoreUnavailable(f"server unavailable: {msg}", path=url.display)
    if "row-level security" in low or "permission denied" in low or "insufficient" in low:
        return StoreError(f"permission denied: {msg}", path=url.display)
    if isinstance(e, IntegrityError):
        return StoreError(f"refused by the database: {msg}", path=url.display)
    if isinstance(e, (SQLAlchemyError, OSError)):
        return StoreError(msg, path=url.display)
    return StoreError(f"{type(e).__name__}: {msg}", path=url.display)


def translating(method: Callable) -> Callable:
    """Decorator for store methods: any database error leaves as one StoreError line."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        for attempt in (0, 1):
            try:
                return method(self, *args, **kwargs)
            except StoreError:
                raise
            except DBAPIError as e:
                # a pooled connection the server dropped (it restarted): the pool is invalidated, so
                # one retry runs on a fresh connection. Safe: a failed transaction left nothing, and
                # a save carries an operation id, so even one that did commit is not applied twice.
                if attempt == 0 and e.connection_invalidated:
                    continue
                raise translate(e, self.url) from None
            except (SQLAlchemyError, OSError) as e:
                raise translate(e, self.url) from None
    return wrapper


def make_engine(url: ProjectURL, *, password: str | None = None) -> sa.Engine:
    if url.backend == "sqlite":
        if not url.path.parent.is_dir():
            raise StoreError("the folder of the project file does not exist", path=url.display)
        eng = sa.create_engine(url.sqlalchemy_url, connect_args={"timeout": 60})

        @event.listens_for(eng, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None          # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(eng, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        return eng
    connect_args = {"options": f"-csearch_path={url.schema}", "connect_timeout": 5,
                    "application_name": "clinaudio"}
    pw = password or url.password
    if pw:
        connect_args["password"] = pw
    # no pre-ping round trip per checkout: a dropped connection is retried once (``translating``)
    return sa.create_engine(url.sqlalchemy_url, connect_args=connect_args, pool_size=2, max_overflow=2)


def _alembic_config(conn):
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    return cfg


def current_revision(conn) -> str | None:
    from alembic.runtime.migration import MigrationContext
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn, revision: str = "head") -> None:
    """Bring the schema to ``revision`` in place (an older project keeps all its data)."""
    from alembic import command
    command.upgrade(_alembic_config(conn), revision)
