"""The first project schema: people, recordings, assignments, one annotation set per recording and owner.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("meta", sa.Column("key", sa.String(64), primary_key=True),
                    sa.Column("value", sa.Text, nullable=False))
    op.create_table("person", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.String(63), nullable=False, unique=True),
                    sa.Column("role", sa.String(16), nullable=False),
                    sa.Column("db_role", sa.String(63), nullable=True, unique=True),
                    sa.Column("created_at", sa.Float, nullable=False),
                    sa.CheckConstraint("role IN ('annotator', 'reviewer', 'admin')", name="ck_person_role"))
    op.create_table("recording", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
                    sa.Column("rel_path", sa.Text, nullable=False),
                    sa.Column("name", sa.Text, nullable=False),
                    sa.Column("duration_s", sa.Float), sa.Column("sample_rate_hz", sa.Integer),
                    sa.Column("channels", sa.Integer),
                    sa.Column("added_at", sa.Float, nullable=False))
    op.create_index("ix_recording_name", "recording", ["name"])
    op.create_table("assignment",
                    sa.Column("recording_id", sa.Integer, sa.ForeignKey("recording.id", ondelete="CASCADE"),
                              primary_key=True),
                    sa.Column("annotator", sa.String(63), sa.ForeignKey("person.name"), primary_key=True),
                    sa.Column("assigned_at", sa.Float, nullable=False))
    op.create_table("annotation_set", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("recording_id", sa.Integer, sa.ForeignKey("recording.id", ondelete="CASCADE"),
                              nullable=False),
                    sa.Column("owner", sa.String(63), nullable=False),
                    sa.Column("record_label", sa.Text),
                    sa.Column("metadata", sa.Text, nullable=False, server_default="{}"),
                    sa.Column("status", sa.String(16), nullable=False, server_default="in progress"),
                    sa.UniqueConstraint("recording_id", "owner", name="uq_set_recording_owner"),
                    sa.UniqueConstraint("id", "owner", name="uq_set_id_owner"))
    op.create_table("segment", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("set_id", sa.Integer, nullable=False),
                    sa.Column("owner", sa.String(63), nullable=False),
                    sa.Column("uid", sa.String(64), nullable=False),
                    sa.Column("start_s", sa.Float, nullable=False), sa.Column("end_s", sa.Float, nullable=False),
                    sa.Column("label", sa.Text, nullable=False),
                    sa.Column("low_hz", sa.Float), sa.Column("high_hz", sa.Float),
                    sa.Column("annotator", sa.String(63), nullable=False, server_default=""),
                    sa.Column("source", sa.String(16), nullable=False, server_default="human"),
                    sa.Column("confidence", sa.Float),
                    sa.Column("note", sa.Text, nullable=False, server_default=""),
                    sa.ForeignKeyConstraint(["set_id", "owner"], ["annotation_set.id", "annotation_set.owner"],
                                            ondelete="CASCADE", name="fk_segment_set_owner"))
    op.create_index("ix_segment_set", "segment", ["set_id"])


def downgrade() -> None:
    for t in ("segment", "annotation_set", "assignment", "recording", "person", "meta"):
        op.drop_table(t)
