"""Project: a folder of recordings, a sidecar annotation file per recording, autosave and recovery.

Layout inside the project folder::

    rec.flac
    rec.clinaudio.json               # the sidecar (lossless native form), written atomically
    .clinaudio/autosave/rec.flac.json  # autosave of unsaved edits (atomic), removed on save

Recovery: an autosave file that is newer than its sidecar (or has no sidecar) holds edits
that were never saved - e.g. the app was killed. :meth:`Project.pending_recovery` lists them
and :meth:`Project.load` prefers them (so reopening after kill -9 restores every autosaved edit).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.errors import AnnotationFormatError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".au")
SIDECAR_SUFFIX = ".clinaudio.json"
STATUSES = ("unlabeled", "in progress", "done")


def sidecar_path(audio_path: str | Path) -> Path:
    p = Path(audio_path)
    return p.with_name(p.stem + SIDECAR_SUFFIX)


def write_annotation_file(path: str | Path, annotations: AnnotationSet) -> None:
    atomic_write_text(path, json.dumps(annotations.to_dict(), indent=1, ensure_ascii=False) + "\n")


def read_annotation_file(path: str | Path) -> AnnotationSet:
    path = Path(path)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        return AnnotationSet.from_dict(d)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError, TypeError,
            RecursionError) as e:
        raise AnnotationFormatError(f"not a valid ClinAudio annotation file: {e}", path=path) from None


@dataclass(frozen=True)
class RecoveryItem:
    audio_path: Path
    autosave_path: Path
    autosaved_at: float


class Project:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder).resolve()
        if not self.folder.is_dir():
            raise AnnotationFormatError("project folder does not exist", path=self.folder)
        self.autosave_dir = self.folder / ".clinaudio" / "autosave"

    # ---- recordings ---------------------------------------------------
    def recordings(self) -> list[Path]:
        """Audio files in the folder (recursively, hidden folders skipped), sorted."""
        out = []
        for p in self.folder.rglob("*"):
            if any(part.startswith(".") for part in p.relative_to(self.folder).parts):
                continue
            if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS:
                out.append(p)
        return sorted(out)

    def autosave_path(self, audio_path: str | Path) -> Path:
        rel = Path(audio_path).resolve().relative_to(self.folder)
        return self.autosave_dir / (str(rel).replace("/", "__") + ".json")

    # ---- load / save --------------------------------------------------
    def has_sidecar(self, audio_path: str | Path) -> bool:
        return sidecar_path(audio_path).exists()

    def load(self, audio_path: str | Path, *, prefer_autosave: bool = True) -> AnnotationSet | None:
        """The recording's annotations: autosave if it is newer than the sidecar, else the
        sidecar, else None (the caller may then import another format found next to it)."""
        side = sidecar_path(audio_path)
        auto = self.autosave_path(audio_path)
        if prefer_autosave and auto.exists() and (not side.exists()
                                                  or auto.stat().st_mtime_ns >= side.stat().st_mtime_ns):
            a = read_annotation_file(auto)
            a.mark_unsaved()  # still unsaved
            return a
        if side.exists():
            return read_annotation_file(side)
        return None

    def save(self, audio_path: str | Path, annotations: AnnotationSet) -> Path:
        side = sidecar_path(audio_path)
        write_annotation_file(side, annotations)
        annotations.mark_saved()
        self.discard_autosave(audio_path)
        return side

    # ---- autosave / recovery -------------------------------------------
    def autosave(self, audio_path: str | Path, annotations: AnnotationSet) -> Path:
        auto = self.autosave_path(audio_path)
        write_annotation_file(auto, annotations)
        return auto

    def discard_autosave(self, audio_path: str | Path) -> None:
        try:
            self.autosave_path(audio_path).unlink()
        except FileNotFoundError:
            pass

    def pending_recovery(self) -> list[RecoveryItem]:
        items = []
        if not self.autosave_dir.is_dir():
            return items
        for rec in self.recordings():
            auto = self.autosave_path(rec)
            if not auto.exists():
                continue
            side = sidecar_path(rec)
            if not side.exists() or auto.stat().st_mtime_ns >= side.stat().st_mtime_ns:
                items.append(RecoveryItem(rec, auto, auto.stat().st_mtime))
        return items

    # ---- status -------------------------------------------------------
    def status_of(self, audio_path: str | Path) -> str:
        """'done' / 'in progress' from the annotation metadata, 'unlabeled' without annotations."""
        try:
            a = self.load(audio_path)
        except AnnotationFormatError:
            return "unlabeled"
        if a is None:
            return "unlabeled"
        st = a.metadata.get("status")
        if st in STATUSES:
            return st
        return "in progress" if (len(a) or a.record_label) else "unlabeled"


class Autosaver:
    """Decides when to autosave: at most ``delay_s`` after an edit (GUI calls ``tick``)."""

    def __init__(self, project: Project, delay_s: float = 1.0):
        self.project = project
        self.delay_s = delay_s
        self._pending: dict[Path, tuple[AnnotationSet, float]] = {}

    def notify_changed(self, audio_path: str | Path, annotations: AnnotationSet) -> None:
        key = Path(audio_path)
        if key not in self._pending:
            self._pending[key] = (annotations, time.monotonic())

    def tick(self, now: float | None = None) -> list[Path]:
        now = time.monotonic() if now is None else now
        written = []
        for key, (ann, t0) in list(self._pending.items()):
            if now - t0 >= self.delay_s:
                if ann.dirty:
                    written.append(self.project.autosave(key, ann))
                else:   # undone back to the saved state: an older autosave would bring the edits back
                    self.project.discard_autosave(key)
                del self._pending[key]
        return written

    def flush(self) -> list[Path]:
        return self.tick(now=float("inf"))
