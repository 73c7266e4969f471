"""The recordings opened in this session, each with its own edits, undo history and suggestions.

Switching recordings never saves: the document (AnnotationSet with its undo stack, plus the
model's suggestions for that recording) stays here, its edits safe in the autosave, until the
user saves it (Ctrl+S), discards it, or quits (Save / Discard / Cancel). Qt-free.

A document without unsaved edits is dropped when the sidecar on disk changed since it was read
(another program or a team member wrote it), so reopening shows what is on disk; the least
recently used clean documents are dropped beyond ``max_clean``.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from clinaudio_gui.core import AnnotationSet, Segment, sidecar_path


def _stamp(path: Path) -> int | None:
    try:
        return sidecar_path(path).stat().st_mtime_ns
    except OSError:
        return None


@dataclass
class RecordingDoc:
    path: Path
    annotations: AnnotationSet
    source: str = ""                       # where the annotations came from ("sidecar", a file name ...)
    problem: str | None = None             # an unreadable sidecar / autosave: never overwrite it
    suggestions: list[Segment] = field(default_factory=list)
    suggestion_record: tuple[str | None, float | None] = (None, None)
    accepted_suggestions: dict = field(default_factory=dict)   # what undoing an accept puts back
    disk_stamp: int | None = None          # the sidecar's mtime when read or saved

    def mark_disk(self) -> None:
        self.disk_stamp = _stamp(self.path)

    @property
    def dirty(self) -> bool:
        return self.annotations.dirty

    def has_suggestions(self) -> bool:
        return bool(self.suggestions) or self.suggestion_record[0] is not None


class DocumentStore:
    def __init__(self, max_clean: int = 40):
        self.max_clean = max_clean
        self._docs: OrderedDict[Path, RecordingDoc] = OrderedDict()

    def get(self, path: Path) -> RecordingDoc | None:
        doc = self._docs.get(Path(path))
        if doc is None:
            return None
        if not doc.dirty and doc.disk_stamp != _stamp(doc.path):
            del self._docs[doc.path]           # changed on disk and nothing of ours to keep
            return None
        self._docs.move_to_end(doc.path)
        return doc

    def put(self, doc: RecordingDoc) -> None:
        self._docs[Path(doc.path)] = doc
        self._docs.move_to_end(Path(doc.path))
        clean = [p for p, d in self._docs.items() if not d.dirty and not d.has_suggestions()]
        for p in clean[:max(0, len(clean) - self.max_clean)]:
            del self._docs[p]

    def drop(self, path: Path) -> None:
        self._docs.pop(Path(path), None)

    def unsaved(self) -> list[RecordingDoc]:
        return [d for d in self._docs.values() if d.dirty]

    def __contains__(self, path) -> bool:
        return Path(path) in self._docs
