"""The tables of a project (the schema at the newest migration), as SQLAlchemy Core tables.

The migrations in ``migrations/versions`` create them; these definitions are what the service
queries. ``owner`` is whose labels a row holds (an annotator's name, or ``consensus``):
PostgreSQL's row-level security policies compare it with the connecting role's person.
A segment's own ``annotator`` is where the label came from (in the consensus set: the
annotator whose label was taken).
"""
from __future__ import annotations

from sqlalchemy import (Column, Float, ForeignKey, ForeignKeyConstraint, Integer, MetaData, String, Table, Text,
                        UniqueConstraint)

ROLES = ("annotator", "reviewer", "admin")
CONSENSUS = "consensus"
SET_STATUSES = ("in progress", "done")

metadata = MetaData()

meta = Table("meta", metadata,
             Column("key", String(64), primary_key=True),
             Column("value", Text, nullable=False))

person = Table("person", metadata,
               Column("id", Integer, primary_key=True),
               Column("name", String(63), nullable=False, unique=True),
               Column("role", String(16), nullable=False),
               Column("db_role", String(63), nullable=True, unique=True),
               Column("created_at", Float, nullable=False))

recording = Table("recording", metadata,
                  Column("id", Integer, primary_key=True),
                  Column("sha256", String(64), nullable=False, unique=True),
                  Column("rel_path", Text, nullable=False),
                  Column("name", Text, nullable=False, index=True),
                  Column("duration_s", Float),
                  Column("sample_rate_hz", Integer),
                  Column("channels", Integer),
                  Column("added_at", Float, nullable=False))

assignment = Table("assignment", metadata,
                   Column("recording_id", Integer, ForeignKey("recording.id", ondelete="CASCADE"), primary_key=True),
                   Column("annotator", String(63), ForeignKey("person.name"), primary_key=True),
                   Column("assigned_at", Float, nullable=False))

annotation_set = Table("annotation_set", metadata,
                       Column("id", Integer, primary_key=True),
                       Column("recording_id", Integer, ForeignKey("recording.id", ondelete="CASCADE"),
                              nullable=False),
                       Column("owner", String(63), nullable=False),
                       Column("record_label", Text),
                       Column("metadata", Text, nullable=False, default="{}"),
                       Column("status", String(16), nullable=False, default="in progress"),
                       Column("version", Integer, nullable=False, default=1),
                       Column("updated_at", Float, nullable=False),
                       Column("updated_by", String(63), nullable=False),
                       UniqueConstraint("recording_id", "owner", name="uq_set_recording_owner"),
                       UniqueConstraint("id", "owner", name="uq_set_id_owner"))

segment = Table("segment", metadata,
                Column("id", Integer, primary_key=True),
                Column("set_id", Integer, nullable=False),
                Column("owner", String(63), nullable=False),
                Column("uid", String(64), nullable=False),
                Column("start_s", Float, nullable=False),
                Column("end_s", Float, nullable=False),
                Column("label", Text, nullable=False),
                Column("low_hz", Float),
                Column("high_hz", Float),
                Column("annotator", String(63), nullable=False, default=""),
                Column("source", String(16), nullable=False, default="human"),
                Column("confidence", Float),
                Column("note", Text, nullable=False, default=""),
                ForeignKeyConstraint(["set_id", "owner"], ["annotation_set.id", "annotation_set.owner"],
                                     ondelete="CASCADE", name="fk_segment_set_owner"))

history = Table("history", metadata,
                Column("id", Integer, primary_key=True),
                Column("set_id", Integer, nullable=False),
                Column("recording_id", Integer, nullable=False),
                Column("owner", String(63), nullable=False),
                Column("version", Integer, nullable=False),
                Column("action", String(16), nullable=False),
                Column("changed_by", String(63), nullable=False),
                Column("changed_at", Float, nullable=False),
                Column("before", Text),
                Column("after", Text, nullable=False),
                Column("op_id", String(64), unique=True))
