"""The offline journal: saves made while the server is away, written through when it returns.

Each save that cannot reach the server is appended (fsynced) to a per-project, per-person JSON
lines file, with an operation id and the version it builds on. Successive saves of the same set
chain their versions, so replaying them in order applies each exactly once: an entry whose
operation id is already in the server's history (the save went through but the answer was lost)
is skipped, and an entry whose base version has moved on (someone else saved meanwhile) is kept
and reported as a conflict - never overwritten.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from pathlib import Path

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.store.url import ConflictError, StoreUnavailable


def default_journal_path(project_url: str, person: str) -> Path:
    base = os.environ.get("CLINAUDIO_JOURNAL_DIR") or (
        Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "clinaudio" / "journal")
    h = hashlib.sha1(f"{project_url}|{person}".encode()).hexdigest()[:16]
    return Path(base) / f"{h}.jsonl"


class Journal:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def entries(self) -> list[dict]:
        if not self.path.is_file():
            return []
        out = []
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line))
                except ValueError:      # a line torn by a crash mid-append: the save was never acknowledged
                    continue
        return out

    def __len__(self) -> int:
        return len(self.entries())

    def append(self, entry: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def rewrite(self, entries: list[dict]) -> None:
        if entries:
            atomic_write_text(self.path, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
        else:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def pending_version(self, recording_id: int, owner: str) -> int | None:
        """The version the last journaled save of this set would produce, if any."""
        v = None
        for e in self.entries():
            if e["recording_id"] == recording_id and e["owner"] == owner:
                v = e["base_version"] + 1
        return v


class JournaledStore:
    """Saves go to the server when it answers, into the journal when it does not."""

    def __init__(self, store, journal: Journal | None = None):
        self.store = store
        self.journal = journal or Journal(default_journal_path(store.url.user_facing(), store.me or store.login))

    def save(self, recording_id: int, owner: str, annotations: AnnotationSet, base_version: int, *,
             status: str | None = None) -> tuple[str, int]:
        """('saved', new version) or ('journaled', the version it will have). Entries already in the
        journal for this set go first (order is kept)."""
        op_id = uuid.uuid4().hex
        pending = self.journal.pending_version(recording_id, owner)
        if pending is None:
            try:
                return "saved", self.store.save(recording_id, owner, annotations, base_version,
                                                status=status, op_id=op_id)
            except StoreUnavailable:
                pass
        else:
            base_version = pending
        self.journal.append({"op_id": op_id, "recording_id": recording_id, "owner": owner,
                             "base_version": base_version, "status": status, "at": time.time(),
                             "content": annotations.to_dict()})
        return "journaled", base_version + 1

    def replay(self) -> dict:
        """Write the journal through. Stops at the first unreachable moment (entries stay)."""
        entries = self.journal.entries()
        applied = already = 0
        conflicts: list[dict] = []
        blocked: set[tuple[int, str]] = set()
        keep: list[dict] = []
        for i, e in enumerate(entries):
            key = (e["recording_id"], e["owner"])
            if key in blocked:
                keep.append(e)
                continue
            try:
                before = self.store.history_count()
                self.store.save(e["recording_id"], e["owner"], AnnotationSet.from_dict(e["content"]),
                                e["base_version"], status=e.get("status"), op_id=e["op_id"])
                if self.store.history_count() == before:
                    already += 1        # its op_id was in the history: it had gone through before
                else:
                    applied += 1
            except ConflictError as c:
                blocked.add(key)
                conflicts.append({"recording_id": key[0], "owner": key[1], "server_version": c.server_version,
                                  "journal_base_version": e["base_version"]})
                keep.append(e)
            except StoreUnavailable:
                keep.extend(entries[i:])
                self.journal.rewrite(keep)
                return {"applied": applied, "already_applied": already, "conflicts": conflicts,
                        "pending": len(keep), "server": "unavailable"}
        self.journal.rewrite(keep)
        return {"applied": applied, "already_applied": already, "conflicts": conflicts, "pending": len(keep),
                "server": "available"}
