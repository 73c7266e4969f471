"""PostgreSQL roles and passwords.

Every person connects as their own login role, a member of the project's group role (which holds
the table privileges; row-level security narrows them per person). A password is turned into a
SCRAM-SHA-256 verifier on the client (libpq's ``PQencryptPasswordConn``) before ``CREATE ROLE``,
so the clear text never reaches the server's statement log, a URL or a file.
"""
from __future__ import annotations

import hashlib

from clinaudio_gui.store.url import check_identifier


def group_role_name(database: str, schema: str) -> str:
    """The project's group role: cluster-wide, so it names the database and the schema."""
    h = hashlib.sha1(f"{database}/{schema}".encode()).hexdigest()[:8]
    return f"clinaudio_{schema[:40]}_{h}"


def create_login_role(conn, name: str, password: str | None, group: str) -> bool:
    """``CREATE ROLE name LOGIN`` with a client-side SCRAM verifier, member of ``group``.
    ``conn``: a SQLAlchemy connection on psycopg. Returns False if the role already existed
    (its password is then left as it is)."""
    check_identifier(name, "person name")
    exists = conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).first()
    if not exists:
        from psycopg import sql
        raw = conn.connection.dbapi_connection
        if password:
            verifier = raw.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256").decode()
            stmt = sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(verifier))
        else:
            stmt = sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name))
        with raw.cursor() as cur:   # DDL takes no bind parameters: psycopg quotes the literal client-side
            cur.execute(stmt)
    conn.exec_driver_sql(f'GRANT "{group}" TO "{name}"')
    return not exists
