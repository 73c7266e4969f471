"""PostgreSQL only: a group role for the project's people, and row-level security that enforces
blind labeling: an annotator reads and writes only their own labels, reviewers read all and write
the consensus, only an admin writes on others' behalf (the owner of the tables, who runs the
migrations, is an admin and bypasses the policies). On SQLite this revision changes nothing.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

from clinaudio_gui.store.pg import group_role_name

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# wrapped in a scalar sub-select: evaluated once per statement (an InitPlan), not once per row
ME = "(SELECT {s}.clinaudio_person_of(current_user::text))"
ROLE = "(SELECT {s}.clinaudio_role_of(current_user::text))"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    db, s = bind.exec_driver_sql("SELECT current_database(), current_schema()").one()
    g = group_role_name(db, s)
    ex = bind.exec_driver_sql
    ex(f"""DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{g}') THEN CREATE ROLE "{g}" NOLOGIN; END IF;
           END $$""")
    ex(f"INSERT INTO {s}.meta (key, value) VALUES ('group_role', '{g}') "
       f"ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value")
    # who is the connecting role? SECURITY DEFINER: they read person although RLS hides nothing there anyway
    ex(f"""CREATE OR REPLACE FUNCTION {s}.clinaudio_person_of(r text) RETURNS text
           LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {s}, pg_temp
           AS $$ SELECT name FROM person WHERE db_role = r $$""")
    ex(f"""CREATE OR REPLACE FUNCTION {s}.clinaudio_role_of(r text) RETURNS text
           LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {s}, pg_temp
           AS $$ SELECT role FROM person WHERE db_role = r $$""")
    me, role = ME.format(s=s), ROLE.format(s=s)
    can_read = f"(owner = {me} OR {role} IN ('reviewer', 'admin'))"
    can_write = f"(owner = {me} OR {role} = 'admin' OR (owner = 'consensus' AND {role} = 'reviewer'))"
    is_admin = f"({role} = 'admin')"
    ex(f'GRANT USAGE ON SCHEMA {s} TO "{g}"')
    ex(f'GRANT SELECT ON {s}.alembic_version TO "{g}"')
    ex(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO "{g}"')
    for t in ("meta", "person", "recording", "assignment", "annotation_set", "segment", "history"):
        ex(f"ALTER TABLE {s}.{t} ENABLE ROW LEVEL SECURITY")
    for t in ("meta", "person", "recording"):
        ex(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {s}.{t} TO "{g}"')
        ex(f"CREATE POLICY read_all ON {s}.{t} FOR SELECT USING (true)")
        ex(f"CREATE POLICY admin_writes ON {s}.{t} FOR ALL USING {is_admin} WITH CHECK {is_admin}")
    ex(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {s}.assignment TO "{g}"')
    ex(f"CREATE POLICY read_own ON {s}.assignment FOR SELECT "
       f"USING (annotator = {me} OR {role} IN ('reviewer', 'admin'))")
    ex(f"CREATE POLICY admin_writes ON {s}.assignment FOR ALL USING {is_admin} WITH CHECK {is_admin}")
    for t in ("annotation_set", "segment"):
        ex(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {s}.{t} TO "{g}"')
        ex(f"CREATE POLICY blind_read ON {s}.{t} FOR SELECT USING {can_read}")
        ex(f"CREATE POLICY own_insert ON {s}.{t} FOR INSERT WITH CHECK {can_write}")
        ex(f"CREATE POLICY own_update ON {s}.{t} FOR UPDATE USING {can_write} WITH CHECK {can_write}")
        ex(f"CREATE POLICY own_delete ON {s}.{t} FOR DELETE USING {can_write}")
    # history: append-only for everyone but the owner of the tables; nobody signs for someone else
    ex(f'GRANT SELECT, INSERT ON {s}.history TO "{g}"')
    ex(f"CREATE POLICY blind_read ON {s}.history FOR SELECT USING {can_read}")
    ex(f"CREATE POLICY own_insert ON {s}.history FOR INSERT WITH CHECK ({can_write[1:-1]} AND changed_by = {me})")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    s = bind.exec_driver_sql("SELECT current_schema()").scalar()
    for t in ("meta", "person", "recording", "assignment", "annotation_set", "segment", "history"):
        for p in ("read_all", "admin_writes", "read_own", "blind_read", "own_insert", "own_update", "own_delete"):
            bind.exec_driver_sql(f"DROP POLICY IF EXISTS {p} ON {s}.{t}")
        bind.exec_driver_sql(f"ALTER TABLE {s}.{t} DISABLE ROW LEVEL SECURITY")
