"""A version per annotation set (conflicting saves are refused, never overwritten) and the history
of every change (who, when, before, after), with the client's operation id so a replayed journal
entry is applied once.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # sets that existed before versions start at version 1, changed by an unknown person at time 0
    op.add_column("annotation_set", sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.add_column("annotation_set", sa.Column("updated_at", sa.Float, nullable=False, server_default="0"))
    op.add_column("annotation_set", sa.Column("updated_by", sa.String(63), nullable=False, server_default=""))
    op.create_table("history", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("set_id", sa.Integer, nullable=False),
                    sa.Column("recording_id", sa.Integer, nullable=False),
                    sa.Column("owner", sa.String(63), nullable=False),
                    sa.Column("version", sa.Integer, nullable=False),
                    sa.Column("action", sa.String(16), nullable=False),
                    sa.Column("changed_by", sa.String(63), nullable=False),
                    sa.Column("changed_at", sa.Float, nullable=False),
                    sa.Column("before", sa.Text), sa.Column("after", sa.Text, nullable=False),
                    sa.Column("op_id", sa.String(64), unique=True))
    op.create_index("ix_history_set", "history", ["set_id", "version"])


def downgrade() -> None:
    op.drop_table("history")
    with op.batch_alter_table("annotation_set") as b:
        b.drop_column("updated_by")
        b.drop_column("updated_at")
        b.drop_column("version")
