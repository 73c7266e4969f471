"""ProjectStore: the one interface the GUI and the CLI use to reach a project database.

A project holds people (annotator, reviewer, admin), recordings (by sha256 and a path relative
to a media root that each client maps to its own disk; no audio in the database), assignments,
and one annotation set per recording and owner, each with a version: a save names the version
it was based on and is refused with :class:`ConflictError` if someone else saved in between.
Every save is recorded in ``history`` (who, when, before, after).

On PostgreSQL the connecting login role is the person, and row-level security enforces who may
read and write which labels; the checks here only give clear messages. On SQLite (one file, no
logins) the person is ``actor``, ``$CLINAUDIO_USER`` or the OS user, and these checks are all
there is: whoever can write the file can do anything.
"""
from __future__ import annotations

import getpass
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.store import db as _db
from clinaudio_gui.store import models as m
from clinaudio_gui.store.url import (ConflictError, ProjectURL, StoreError, check_identifier, parse_url)

READERS_OF_ALL = ("reviewer", "admin")


@dataclass(frozen=True)
class RecordingInfo:
    id: int
    sha256: str
    rel_path: str
    name: str
    duration_s: float | None = None
    sample_rate_hz: int | None = None
    channels: int | None = None


@dataclass
class LoadedSet:
    annotations: AnnotationSet
    version: int
    status: str
    updated_by: str
    updated_at: float


def _seg_rows(set_id: int, owner: str, a: AnnotationSet) -> list[dict]:
    return [dict(set_id=set_id, owner=owner, uid=s.id, start_s=float(s.start_s), end_s=float(s.end_s),
                 label=s.label, low_hz=s.low_hz, high_hz=s.high_hz, annotator=s.annotator or owner,
                 source=s.source, confidence=s.confidence, note=s.note or "") for s in a.segments]


def _segment_dict(r) -> dict:
    return dict(id=r.uid, start_s=r.start_s, end_s=r.end_s, label=r.label, low_hz=r.low_hz, high_hz=r.high_hz,
                annotator=r.annotator, source=r.source, confidence=r.confidence, note=r.note)


def canonical(a: AnnotationSet | dict | None) -> tuple:
    """The content that matters for 'did anything change' (segment ids and metadata aside)."""
    if a is None:
        return ()
    d = a.to_dict() if isinstance(a, AnnotationSet) else a
    segs = sorted((round(s["start_s"], 6), round(s["end_s"], 6), s["label"], s.get("low_hz"), s.get("high_hz"),
                   s.get("source", "human"), s.get("confidence"), s.get("note", ""))
                  for s in d.get("segments", []))
    return (d.get("record_label"), tuple(segs))


class ProjectStore:
    """Open an existing project (``ProjectStore(url)``) or make one (:meth:`init`)."""

    def __init__(self, url: str | ProjectURL, *, actor: str | None = None, password: str | None = None,
                 upgrade: bool = True, _creating: bool = False):
        self.url = url if isinstance(url, ProjectURL) else parse_url(url)
        if self.url.backend == "sqlite" and not _creating and not self.url.path.is_file():
            raise StoreError("no project file here (make one with `clinaudio project init URL`)",
                             path=self.url.display)
        self._actor = actor
        self.engine = _db.make_engine(self.url, password=password)
        if not _creating:
            self._open(upgrade)

    # ---- opening / creating ---------------------------------------------
    @_db.translating
    def _open(self, upgrade: bool) -> None:
        with self.engine.begin() as c:
            rev = _db.current_revision(c)
            if rev is None:
                raise StoreError("not a ClinAudio project (no schema here; `clinaudio project init URL`)",
                                 path=self.url.display)
            if rev != _db.HEAD_REVISION:
                if not upgrade:
                    raise StoreError(f"project schema at revision {rev}, this ClinAudio needs "
                                     f"{_db.HEAD_REVISION}", path=self.url.display)
                _db.upgrade(c)
        self._identify()

    @classmethod
    def init(cls, url: str | ProjectURL, *, schema: str | None = None, actor: str | None = None,
             password: str | None = None, name: str | None = None) -> "ProjectStore":
        """A new project; the connecting user (SQLite: ``actor``) becomes its admin."""
        u = url if isinstance(url, ProjectURL) else parse_url(url)
        if schema:
            u = u.with_schema(schema)
        st = cls(u, actor=actor, password=password, _creating=True)
        st._create(name)
        return st

    @_db.translating
    def _create(self, name: str | None) -> None:
        with self.engine.begin() as c:
            if self.url.backend == "postgresql":
                c.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {self.url.schema}")
            rev = _db.current_revision(c)
            if rev is not None:
                raise StoreError(f"already a ClinAudio project (schema revision {rev})", path=self.url.display)
            _db.upgrade(c)
            admin = self._connecting_name(c)
            check_identifier(admin, "admin name")
            now = time.time()
            c.execute(m.person.insert().values(
                name=admin, role="admin", created_at=now,
                db_role=admin if self.url.backend == "postgresql" else None))
            c.execute(m.meta.insert(), [dict(key="name", value=name or self.url.display),
                                        dict(key="created_at", value=repr(now))])
        self._identify()

    def _connecting_name(self, c) -> str:
        if self.url.backend == "postgresql":
            return c.exec_driver_sql("SELECT current_user").scalar()
        return self._actor or os.environ.get("CLINAUDIO_USER") or getpass.getuser()

    def _identify(self) -> None:
        with self.engine.connect() as c:
            who = self._connecting_name(c)
            col = m.person.c.db_role if self.url.backend == "postgresql" else m.person.c.name
            row = c.execute(sa.select(m.person.c.name, m.person.c.role).where(col == who)).first()
        self.login = who
        self.me, self.my_role = (row.name, row.role) if row else (None, None)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- checks -----------------------------------------------------------
    def _fail(self, problem: str) -> StoreError:
        return StoreError(problem, path=self.url.display)

    def require_role(self, *roles: str) -> None:
        if self.my_role not in roles:
            who = self.me or self.login
            raise self._fail(f"permission denied: {who!r} is "
                             f"{'not a member of this project' if self.me is None else 'a ' + self.my_role}"
                             f" (needs {' or '.join(roles)})")

    def may_read(self, owner: str) -> bool:
        return owner == self.me or self.my_role in READERS_OF_ALL

    def may_write(self, owner: str) -> bool:
        return owner == self.me or self.my_role == "admin" or (owner == m.CONSENSUS and self.my_role == "reviewer")

    # ---- people -------------------------------------------------------------
    @_db.translating
    def add_person(self, name: str, role: str, *, password: str | None = None) -> bool:
        """Add a person (PostgreSQL: their own login role, password turned into a SCRAM verifier
        client-side). False if they were already a member with that role."""
        self.require_role("admin")
        check_identifier(name, "person name")
        if name == m.CONSENSUS:
            raise self._fail(f"{m.CONSENSUS!r} is the reviewers' consensus set, not a person")
        if role not in m.ROLES:
            raise self._fail(f"unknown role {role!r} (use {', '.join(m.ROLES)})")
        with self.engine.begin() as c:
            row = c.execute(sa.select(m.person.c.role).where(m.person.c.name == name)).first()
            if row is not None:
                if row.role == role:
                    return False
                c.execute(m.person.update().where(m.person.c.name == name).values(role=role))
                return True
            if self.url.backend == "postgresql":
                from clinaudio_gui.store.pg import create_login_role
                group = c.execute(sa.select(m.meta.c.value).where(m.meta.c.key == "group_role")).scalar()
                create_login_role(c, name, password, group)
            c.execute(m.person.insert().values(name=name, role=role, created_at=time.time(),
                                               db_role=name if self.url.backend == "postgresql" else None))
        return True

    @_db.translating
    def people(self) -> list[dict]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(m.person.c.name, m.person.c.role).order_by(m.person.c.name)).all()
        return [dict(name=r.name, role=r.role) for r in rows]

    def require_person(self, name: str) -> str:
        if name == m.CONSENSUS:
            return name
        if name not in {p["name"] for p in self.people()}:
            raise self._fail(f"unknown annotator {name!r} (add them with `clinaudio project user URL add`)")
        return name

    # ---- recordings -----------------------------------------------------------
    @_db.translating
    def recordings(self) -> list[RecordingInfo]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(m.recording).order_by(m.recording.c.name, m.recording.c.id)).all()
        return [RecordingInfo(r.id, r.sha256, r.rel_path, r.name, r.duration_s, r.sample_rate_hz, r.channels)
                for r in rows]

    def recording(self, key: int | str) -> RecordingInfo:
        """By id, sha256 or name (file name without extension)."""
        for r in self.recordings():
            if key in (r.id, r.sha256, r.name, r.rel_path) or str(key) == str(r.id):
                return r
        raise self._fail(f"unknown recording {key!r} (not registered in this project)")

    @_db.translating
    def register_recordings(self, items: list[dict]) -> dict:
        """Insert or update recordings (dicts of RecordingInfo fields but id). Same sha256 at a new
        path: the path is updated (the file moved). Admin only."""
        self.require_role("admin")
        out = {"added": 0, "moved": 0, "unchanged": 0}
        with self.engine.begin() as c:
            known = {r.sha256: r for r in c.execute(sa.select(m.recording)).all()}
            for it in items:
                old = known.get(it["sha256"])
                if old is None:
                    c.execute(m.recording.insert().values(added_at=time.time(), **it))
                    out["added"] += 1
                elif old.rel_path != it["rel_path"]:
                    c.execute(m.recording.update().where(m.recording.c.id == old.id)
                              .values(rel_path=it["rel_path"], name=it["name"]))
                    out["moved"] += 1
                else:
                    out["unchanged"] += 1
        return out

    @_db.translating
    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as c:
            return c.execute(sa.select(m.meta.c.value).where(m.meta.c.key == key)).scalar()

    @_db.translating
    def set_meta(self, key: str, value: str) -> None:
        self.require_role("admin")
        with self.engine.begin() as c:
            if c.execute(sa.select(m.meta.c.key).where(m.meta.c.key == key)).first():
                c.execute(m.meta.update().where(m.meta.c.key == key).values(value=value))
            else:
                c.execute(m.meta.insert().values(key=key, value=value))

    # ---- assignments ----------------------------------------------------------
    @_db.translating
    def assignments(self) -> dict[int, list[str]]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(m.assignment.c.recording_id, m.assignment.c.annotator)
                             .order_by(m.assignment.c.recording_id, m.assignment.c.annotator)).all()
        out: dict[int, list[str]] = {}
        for r in rows:
            out.setdefault(r.recording_id, []).append(r.annotator)
        return out

    @_db.translating
    def add_assignments(self, pairs: list[tuple[int, str]]) -> int:
        self.require_role("admin")
        now = time.time()
        with self.engine.begin() as c:
            have = set(c.execute(sa.select(m.assignment.c.recording_id, m.assignment.c.annotator)).all())
            new = [dict(recording_id=r, annotator=a, assigned_at=now + i * 1e-6)
                   for i, (r, a) in enumerate(pairs) if (r, a) not in have]
            if new:
                c.execute(m.assignment.insert(), new)
        return len(new)

    @_db.translating
    def queue(self, annotator: str | None = None, *, include_done: bool = False) -> list[RecordingInfo]:
        """Recordings assigned to ``annotator`` (default: me), in assignment order, without those
        whose set is marked done: the first is 'the next recording assigned to me'."""
        who = annotator or self.me
        if who is None:
            raise self._fail(f"{self.login!r} is not a member of this project")
        if not self.may_read(who):
            raise self._fail(f"permission denied: {self.me!r} may not see {who!r}'s queue")
        a, s = m.assignment, m.annotation_set
        q = (sa.select(m.recording, s.c.status)
             .join(a, a.c.recording_id == m.recording.c.id)
             .outerjoin(s, sa.and_(s.c.recording_id == m.recording.c.id, s.c.owner == who))
             .where(a.c.annotator == who).order_by(a.c.assigned_at, m.recording.c.id))
        with self.engine.connect() as c:
            rows = c.execute(q).all()
        return [RecordingInfo(r.id, r.sha256, r.rel_path, r.name, r.duration_s, r.sample_rate_hz, r.channels)
                for r in rows if include_done or r.status != "done"]

    # ---- annotation sets ------------------------------------------------------
    def _check_read(self, owner: str) -> None:
        if not self.may_read(owner):
            raise self._fail(f"permission denied: {self.me or self.login!r} may not read {owner!r}'s labels "
                             f"(blind labeling)")

    def _check_write(self, owner: str) -> None:
        if not self.may_write(owner):
            raise self._fail(f"permission denied: {self.me or self.login!r} may not write {owner!r}'s labels")

    @staticmethod
    def _assemble(set_row, seg_rows) -> AnnotationSet:
        md = json.loads(set_row.metadata or "{}")
        return AnnotationSet.from_dict({"record_label": set_row.record_label, "metadata": md,
                                        "segments": [_segment_dict(r) for r in seg_rows]})

    @_db.translating
    def load(self, recording_id: int, owner: str) -> LoadedSet | None:
        """The owner's set for the recording, or None if they have none yet (version 0)."""
        self._check_read(owner)
        s = m.annotation_set
        with self.engine.connect() as c:
            row = c.execute(sa.select(s).where(s.c.recording_id == recording_id, s.c.owner == owner)).first()
            if row is None:
                return None
            segs = c.execute(sa.select(m.segment).where(m.segment.c.set_id == row.id)
                             .order_by(m.segment.c.id)).all()
        return LoadedSet(self._assemble(row, segs), row.version, row.status, row.updated_by, row.updated_at)

    @_db.translating
    def load_all(self, owners: list[str] | None = None) -> dict[tuple[int, str], LoadedSet]:
        """Every set this person may read (optionally only those owners), keyed (recording id, owner)."""
        for o in owners or []:
            self._check_read(o)
        s, g = m.annotation_set, m.segment
        qs, qg = sa.select(s), sa.select(g).order_by(g.c.id)
        if owners is not None:
            qs, qg = qs.where(s.c.owner.in_(owners)), qg.where(g.c.owner.in_(owners))
        elif self.my_role not in READERS_OF_ALL:
            qs, qg = qs.where(s.c.owner == self.me), qg.where(g.c.owner == self.me)
        with self.engine.connect() as c:
            sets = c.execute(qs).all()
            segs: dict[int, list] = {}
            for r in c.execute(qg):
                segs.setdefault(r.set_id, []).append(r)
        return {(r.recording_id, r.owner): LoadedSet(self._assemble(r, segs.get(r.id, [])), r.version,
                                                     r.status, r.updated_by, r.updated_at) for r in sets}

    @_db.translating
    def save(self, recording_id: int, owner: str, annotations: AnnotationSet, base_version: int, *,
             status: str | None = None, op_id: str | None = None, action: str = "save") -> int:
        """Replace the owner's set with ``annotations`` if it is still at ``base_version`` (0: none
        yet); return the new version. Raises ConflictError (with the server's content) otherwise.
        ``op_id`` makes the save idempotent: a save whose op_id is in the history already returns
        that version without writing again (a replayed journal entry is applied once)."""
        self._check_write(owner)
        if status is not None and status not in m.SET_STATUSES:
            raise self._fail(f"unknown status {status!r} (use {', '.join(m.SET_STATUSES)})")
        op_id = op_id or uuid.uuid4().hex
        s, h = m.annotation_set, m.history
        after = annotations.to_dict()
        for sd in after["segments"]:           # as stored: a label without an annotator is the owner's
            sd["annotator"] = sd["annotator"] or owner
        now = time.time()
        with self.engine.begin() as c:
            if self.url.backend == "postgresql" and base_version > 0:
                from clinaudio_gui.store.pgsave import update_existing
                v = update_existing(c, recording_id=recording_id, owner=owner, base_version=base_version,
                                    record_label=annotations.record_label,
                                    metadata=json.dumps(annotations.metadata, ensure_ascii=False), status=status,
                                    now=now, by=self.me or self.login, seg_rows=_seg_rows(0, owner, annotations),
                                    after=json.dumps(after, ensure_ascii=False), action=action, op_id=op_id,
                                    assemble=self._assemble)
                if v is not None:
                    return v
            q = sa.select(s).where(s.c.recording_id == recording_id, s.c.owner == owner)
            if self.url.backend == "postgresql":
                q = q.with_for_update()
            row = c.execute(q).first()
            if row is None and c.execute(sa.select(m.recording.c.id)
                                         .where(m.recording.c.id == recording_id)).first() is None:
                raise self._fail(f"unknown recording id {recording_id}")
            current = 0 if row is None else row.version
            if current != base_version:
                # the version moved on: by this very operation (a replayed save whose answer was
                # lost) - then it is done - or by someone else - a conflict
                done = c.execute(sa.select(h.c.version).where(h.c.op_id == op_id)).first()
                if done is not None:
                    return done.version
                server = None
                if row is not None:
                    segs = c.execute(sa.select(m.segment).where(m.segment.c.set_id == row.id)).all()
                    server = self._assemble(row, segs).to_dict()
                raise ConflictError(f"{owner!r}'s labels of recording {recording_id} were changed elsewhere "
                                    f"(version {current}, this edit was based on {base_version}); "
                                    f"nothing was overwritten", path=self.url.display,
                                    server_version=current, server_content=server)
            values = dict(record_label=annotations.record_label,
                          metadata=json.dumps(annotations.metadata, ensure_ascii=False),
                          updated_at=now, updated_by=self.me or self.login)
            if status is not None:
                values["status"] = status
            if row is None:
                values.setdefault("status", "in progress")
                set_id = c.execute(s.insert().values(recording_id=recording_id, owner=owner, version=1, **values)
                                   .returning(s.c.id)).scalar_one()
                before, version = None, 1
            else:
                set_id, version = row.id, row.version + 1
                n = c.execute(s.update().where(s.c.id == set_id, s.c.version == row.version)
                              .values(version=version, **values)).rowcount
                if n != 1:
                    raise ConflictError("changed elsewhere during this save; nothing was overwritten",
                                        path=self.url.display, server_version=row.version + 1)
                old = c.execute(m.segment.delete().where(m.segment.c.set_id == set_id)
                                .returning(*m.segment.c)).all()   # the 'before' of the history, in one trip
                old.sort(key=lambda r: r.id)
                before = json.dumps(self._assemble(row, old).to_dict(), ensure_ascii=False)
            rows = _seg_rows(set_id, owner, annotations)
            if rows:
                c.execute(m.segment.insert(), rows)
            c.execute(h.insert().values(set_id=set_id, recording_id=recording_id, owner=owner, version=version,
                                        action=action, changed_by=self.me or self.login, changed_at=now,
                                        before=before, after=json.dumps(after, ensure_ascii=False), op_id=op_id))
        return version

    @_db.translating
    def history(self, recording_id: int, owner: str) -> list[dict]:
        self._check_read(owner)
        h = m.history
        with self.engine.connect() as c:
            rows = c.execute(sa.select(h).where(h.c.recording_id == recording_id, h.c.owner == owner)
                             .order_by(h.c.version)).all()
        return [dict(version=r.version, action=r.action, changed_by=r.changed_by, changed_at=r.changed_at,
                     before=json.loads(r.before) if r.before else None, after=json.loads(r.after), op_id=r.op_id)
                for r in rows]

    @_db.translating
    def history_count(self) -> int:
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.count()).select_from(m.history)).scalar_one()

    # ---- overview ----------------------------------------------------------------
    @_db.translating
    def status(self) -> dict:
        recs = self.recordings()
        people = self.people()
        assigned = self.assignments()
        with self.engine.connect() as c:
            rev = _db.current_revision(c)
            s = m.annotation_set
            sets = c.execute(sa.select(s.c.recording_id, s.c.owner, s.c.status)).all()
        progress = {}
        for p in people:
            mine = {r for r, owners in assigned.items() if p["name"] in owners}
            own = {r.recording_id: r.status for r in sets if r.owner == p["name"]}
            if not mine and not own and p["role"] != "annotator":
                continue
            progress[p["name"]] = {"assigned": len(mine), "started": sum(1 for r in mine if r in own),
                                   "done": sum(1 for r in mine if own.get(r) == "done"),
                                   "sets": len(own)}
        return {"url": self.url.user_facing(), "backend": self.url.backend, "schema_revision": rev,
                "me": self.me, "role": self.my_role, "recordings": len(recs),
                "duration_s": round(sum(r.duration_s or 0.0 for r in recs), 3),
                "people": people, "assigned_recordings": len(assigned),
                "assignments": sum(len(v) for v in assigned.values()),
                "annotation_sets": len(sets), "consensus_sets": sum(1 for r in sets if r.owner == m.CONSENSUS),
                "progress": progress}
