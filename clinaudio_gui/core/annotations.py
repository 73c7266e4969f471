"""AnnotationSet: segments + record label + metadata, changed only through edit commands.

Every change goes through :meth:`AnnotationSet.execute` with a :class:`Command`
(``execute`` / ``unexecute``, after Sonic Visualiser), so every edit can be undone.
One user gesture (a drag that moves an edge many times) is one undo step: wrap it in
``with annotations.gesture("resize"):``; successive ModifySegment commands on the same
segment inside a gesture merge into one.

Views subscribe with :meth:`AnnotationSet.subscribe`; the callback gets an
:class:`Event` (kind, segment ids). No Qt here (napari-style evented model).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from clinaudio_gui.core.segment import Segment

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Event:
    kind: str                      # "added" | "removed" | "modified" | "record_label" | "metadata" | "reset"
    ids: tuple[str, ...] = ()


class Command:
    """An edit: ``do`` applies it to the set, ``undo`` reverts it exactly."""

    description = "edit"

    def do(self, a: "AnnotationSet") -> list[Event]:
        raise NotImplementedError

    def undo(self, a: "AnnotationSet") -> list[Event]:
        raise NotImplementedError


@dataclass
class AddSegment(Command):
    segment: Segment
    index: int | None = None
    description = "add segment"

    def do(self, a):
        if a.index_of(self.segment.id) is not None:
            raise ValueError(f"segment id {self.segment.id} already present")
        i = len(a._segments) if self.index is None else self.index
        a._segments.insert(i, self.segment)
        self.index = i
        return [Event("added", (self.segment.id,))]

    def undo(self, a):
        a._segments.pop(a._require(self.segment.id))
        return [Event("removed", (self.segment.id,))]


@dataclass
class RemoveSegment(Command):
    segment_id: str
    _removed: Segment | None = None
    _index: int = -1
    description = "delete segment"

    def do(self, a):
        self._index = a._require(self.segment_id)
        self._removed = a._segments.pop(self._index)
        return [Event("removed", (self.segment_id,))]

    def undo(self, a):
        a._segments.insert(self._index, self._removed)
        return [Event("added", (self.segment_id,))]


@dataclass
class ModifySegment(Command):
    """Replace a segment by an edited copy (same id)."""

    new: Segment
    _old: Segment | None = None
    description = "edit segment"

    def do(self, a):
        i = a._require(self.new.id)
        if self._old is None:
            self._old = a._segments[i]
        a._segments[i] = self.new
        return [Event("modified", (self.new.id,))]

    def undo(self, a):
        a._segments[a._require(self.new.id)] = self._old
        return [Event("modified", (self.new.id,))]


@dataclass
class SetRecordLabel(Command):
    label: str | None
    _old: str | None = None
    description = "set record label"

    def do(self, a):
        self._old, a._record_label = a._record_label, self.label
        return [Event("record_label")]

    def undo(self, a):
        a._record_label = self._old
        return [Event("record_label")]


@dataclass
class SetMetadata(Command):
    key: str
    value: Any
    _old: Any = None
    _had: bool = False
    description = "set metadata"

    def do(self, a):
        self._had = self.key in a._metadata
        self._old = a._metadata.get(self.key)
        a._metadata[self.key] = self.value
        return [Event("metadata")]

    def undo(self, a):
        if self._had:
            a._metadata[self.key] = self._old
        else:
            a._metadata.pop(self.key, None)
        return [Event("metadata")]


@dataclass
class Macro(Command):
    """Several commands as one undo step."""

    commands: list[Command] = field(default_factory=list)
    description: str = "edit"

    def do(self, a):
        events: list[Event] = []
        for c in self.commands:
            events += c.do(a)
        return events

    def undo(self, a):
        events: list[Event] = []
        for c in reversed(self.commands):
            events += c.undo(a)
        return events


class AnnotationSet:
    """The annotations of one recording, with an undo history."""

    def __init__(self, segments: list[Segment] | None = None, record_label: str | None = None,
                 metadata: dict[str, Any] | None = None):
        self._segments: list[Segment] = list(segments or [])
        ids = [s.id for s in self._segments]
        if len(set(ids)) != len(ids):
            raise ValueError("segment ids must be unique")
        self._record_label = record_label
        self._metadata: dict[str, Any] = dict(metadata or {})
        self._undo: list[Command] = []
        self._redo: list[Command] = []
        self._gesture: Macro | None = None
        self._listeners: list[Callable[[Event], None]] = []
        self.revision = 0          # bumps on every change (dirty is the undo depth's business)
        self.saved_revision = 0
        # the undo depth at the saved state (as QUndoStack's clean index): undoing back to it makes
        # the set clean again; None when no undo / redo can return to it (a new edit after undoing
        # past it, or recovered edits of an earlier session)
        self._clean: int | None = 0

    # ---- read access -------------------------------------------------
    @property
    def segments(self) -> tuple[Segment, ...]:
        return tuple(self._segments)

    @property
    def record_label(self) -> str | None:
        return self._record_label

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._metadata)

    @property
    def dirty(self) -> bool:
        """Unsaved changes: True unless undo / redo has brought the set back to its saved state."""
        if self._gesture is not None and self._gesture.commands:
            return True
        return self._clean != len(self._undo)

    def mark_saved(self) -> None:
        self.saved_revision = self.revision
        # saved in the middle of a gesture: no undo depth matches the saved state
        mid_gesture = self._gesture is not None and bool(self._gesture.commands)
        self._clean = None if mid_gesture else len(self._undo)

    def mark_unsaved(self) -> None:
        """Dirty until saved, whatever undo does (e.g. edits recovered from an autosave)."""
        self.revision = self.saved_revision + 1
        self._clean = None

    def __len__(self) -> int:
        return len(self._segments)

    def index_of(self, segment_id: str) -> int | None:
        for i, s in enumerate(self._segments):
            if s.id == segment_id:
                return i
        return None

    def get(self, segment_id: str) -> Segment:
        return self._segments[self._require(segment_id)]

    def _require(self, segment_id: str) -> int:
        i = self.index_of(segment_id)
        if i is None:
            raise KeyError(f"no segment with id {segment_id!r}")
        return i

    def sorted_segments(self) -> list[Segment]:
        return sorted(self._segments, key=lambda s: (s.start_s, s.end_s))

    # ---- events ------------------------------------------------------
    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _emit(self, events: list[Event]) -> None:
        self.revision += 1
        for e in events:
            for cb in list(self._listeners):
                cb(e)

    # ---- editing -----------------------------------------------------
    def execute(self, command: Command) -> None:
        events = command.do(self)
        if self._clean is not None and self._clean > len(self._undo):
            self._clean = None     # the saved state was on the redo branch this edit drops
        if self._gesture is not None:
            self._merge_into_gesture(command)
        else:
            self._undo.append(command)
        self._redo.clear()
        self._emit(events)

    def _merge_into_gesture(self, command: Command) -> None:
        g = self._gesture
        if isinstance(command, ModifySegment):
            for c in g.commands:
                if isinstance(c, ModifySegment) and c.new.id == command.new.id:
                    c.new = command.new  # keep the first _old, take the latest new
                    return
        g.commands.append(command)

    @contextmanager
    def gesture(self, description: str = "edit") -> Iterator[None]:
        """Everything executed inside is one undo step. Nested gestures join the outer one."""
        if self._gesture is not None:
            yield
            return
        self._gesture = Macro([], description)
        try:
            yield
        finally:
            g, self._gesture = self._gesture, None
            if g.commands:
                self._undo.append(g)

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_top(self) -> Command | None:
        """The command the next ``undo`` reverts (None when there is none)."""
        return self._undo[-1] if self._undo else None

    def redo_top(self) -> Command | None:
        """The command the next ``redo`` applies again (None when there is none)."""
        return self._redo[-1] if self._redo else None

    def undo_text(self) -> str:
        return self._undo[-1].description if self._undo else ""

    def redo_text(self) -> str:
        return self._redo[-1].description if self._redo else ""

    def undo(self) -> bool:
        if not self._undo or self._gesture is not None:
            return False
        c = self._undo.pop()
        events = c.undo(self)
        self._redo.append(c)
        self._emit(events)
        return True

    def redo(self) -> bool:
        if not self._redo or self._gesture is not None:
            return False
        c = self._redo.pop()
        events = c.do(self)
        self._undo.append(c)
        self._emit(events)
        return True

    # convenience wrappers
    def add(self, segment: Segment) -> Segment:
        self.execute(AddSegment(segment))
        return segment

    def remove(self, segment_id: str) -> None:
        self.execute(RemoveSegment(segment_id))

    def modify(self, segment_id: str, **changes: Any) -> Segment:
        new = self.get(segment_id).replace(**changes)
        self.execute(ModifySegment(new))
        return new

    def set_record_label(self, label: str | None) -> None:
        self.execute(SetRecordLabel(label))

    def set_metadata(self, key: str, value: Any) -> None:
        self.execute(SetMetadata(key, value))

    # ---- (de)serialization: the lossless native form ------------------
    def to_dict(self) -> dict[str, Any]:
        return {"clinaudio_annotations": SCHEMA_VERSION,
                "record_label": self._record_label,
                "metadata": self._metadata,
                "segments": [s.to_dict() for s in self._segments]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AnnotationSet":
        if not isinstance(d, dict) or "segments" not in d:
            raise ValueError("not a ClinAudio annotation document (no 'segments')")
        if not isinstance(d["segments"], list):
            raise ValueError("'segments' must be a list")
        segs = []
        for i, s in enumerate(d["segments"]):
            if not isinstance(s, dict):
                raise ValueError(f"segments[{i}] must be an object")
            try:
                segs.append(Segment.from_dict(s))
            except TypeError as e:
                raise ValueError(f"segments[{i}]: {e}") from None
        rl = d.get("record_label")
        if rl is not None and not isinstance(rl, str):
            raise ValueError("'record_label' must be a string or null")
        md = d.get("metadata") or {}
        if not isinstance(md, dict):
            raise ValueError("'metadata' must be an object")
        return cls(segs, rl, md)

    def same_content(self, other: "AnnotationSet") -> bool:
        return self.to_dict() == other.to_dict()
