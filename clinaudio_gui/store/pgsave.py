"""PostgreSQL: a save of an existing annotation set in two statements instead of six.

Statement 1 locks the set, checks its version, bumps it, deletes the old segments and returns
them (the history's 'before'), all in data-modifying CTEs. Statement 2 inserts the new segments
(from one JSON parameter) and the history row. Row-level security applies to every part as it
does to the plain statements. When the version does not match (a conflict, or a replayed save)
nothing is changed and the caller takes the general path, which explains what happened.
"""
from __future__ import annotations

import json
from types import SimpleNamespace

import sqlalchemy as sa

_LOCK_UPDATE_DELETE = sa.text("""
WITH old AS (
    SELECT id, version, record_label, metadata, status FROM annotation_set
    WHERE recording_id = :rid AND owner = :owner FOR UPDATE),
upd AS (
    UPDATE annotation_set s SET version = old.version + 1, record_label = :record_label, metadata = :metadata,
        status = COALESCE(:status, old.status), updated_at = :now, updated_by = :by
    FROM old WHERE s.id = old.id AND old.version = :base
    RETURNING s.id, s.version),
del AS (
    DELETE FROM segment WHERE set_id = (SELECT id FROM upd) RETURNING *)
SELECT old.id, old.version, old.record_label, old.metadata, old.status,
       (SELECT version FROM upd) AS new_version,
       (SELECT coalesce(json_agg(del ORDER BY del.id), '[]'::json) FROM del) AS old_segments
FROM old""")

_INSERT_SEGMENTS_AND_HISTORY = sa.text("""
WITH segs AS (
    INSERT INTO segment (set_id, owner, uid, start_s, end_s, label, low_hz, high_hz, annotator, source,
                         confidence, note)
    SELECT :set_id, :owner, x.uid, x.start_s, x.end_s, x.label, x.low_hz, x.high_hz, x.annotator, x.source,
           x.confidence, x.note
    FROM json_to_recordset(CAST(:segs AS json)) AS x(uid text, start_s float8, end_s float8, label text,
         low_hz float8, high_hz float8, annotator text, source text, confidence float8, note text)
    RETURNING 1)
INSERT INTO history (set_id, recording_id, owner, version, action, changed_by, changed_at, before, after, op_id)
VALUES (:set_id, :rid, :owner, :version, :action, :by, :now, :before, :after, :op_id)""")


def update_existing(c, *, recording_id: int, owner: str, base_version: int, record_label, metadata: str,
                    status, now: float, by: str, seg_rows: list[dict], after: str, action: str, op_id: str,
                    assemble) -> int | None:
    """The new version, or None if the set is missing or not at ``base_version`` (nothing changed)."""
    row = c.execute(_LOCK_UPDATE_DELETE, dict(rid=recording_id, owner=owner, record_label=record_label,
                                              metadata=metadata, status=status, now=now, by=by,
                                              base=base_version)).first()
    if row is None or row.new_version is None:
        return None
    old = row.old_segments if isinstance(row.old_segments, list) else json.loads(row.old_segments)
    before = json.dumps(assemble(row, [SimpleNamespace(**r) for r in old]).to_dict(), ensure_ascii=False)
    c.execute(_INSERT_SEGMENTS_AND_HISTORY, dict(
        set_id=row.id, rid=recording_id, owner=owner, version=row.new_version, action=action, by=by, now=now,
        before=before, after=after, op_id=op_id,
        segs=json.dumps([{k: r[k] for k in ("uid", "start_s", "end_s", "label", "low_hz", "high_hz", "annotator",
                                            "source", "confidence", "note")} for r in seg_rows])))
    return row.new_version
