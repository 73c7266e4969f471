"""ProjectClient: a project database seen the way the GUI sees a folder project.

It offers what :class:`clinaudio_gui.core.project.Project` offers the main window (``folder``,
``recordings``, ``load``, ``save``, ``autosave``, recovery), so the window labels a database
project with the same code as a folder of sidecars. Differences that matter:

* ``recordings()`` is the person's queue (annotators: what is assigned to them, in order;
  reviewers and admins: every recording), resolved under this client's media root; files
  missing here are listed in ``missing``, never guessed.
* ``load`` returns the person's own set - an empty one if they have none yet - and never an
  annotation file lying beside the audio (that would unblind an annotator).
* ``save`` sends the set with the version it was loaded at: a change made elsewhere meanwhile
  is refused (ConflictError, the edits stay in the local autosave); an unreachable server puts
  the save into the offline journal, written through by :meth:`replay`.
"""
from __future__ import annotations

import hashlib
import json
import os
import weakref
from pathlib import Path

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.project import read_annotation_file
from clinaudio_gui.store.journal import JournaledStore
from clinaudio_gui.store.media import media_root_for
from clinaudio_gui.store.models import CONSENSUS, SET_STATUSES
from clinaudio_gui.store.service import ProjectStore, RecordingInfo
from clinaudio_gui.store.url import StoreError, StoreUnavailable


def looks_like_project_url(text: str) -> bool:
    t = str(text)
    return t.startswith(("sqlite:///", "postgresql://", "postgres://"))


class ProjectClient:
    def __init__(self, url, *, media_root: str | Path | None = None, password: str | None = None,
                 store: ProjectStore | None = None, journal=None, owner: str | None = None):
        self.store = store or ProjectStore(url, password=password)
        if self.store.me is None:
            raise StoreError(f"{self.store.login!r} is not a member of this project", path=self.store.url.display)
        self.url = self.store.url
        self.owner = owner or (CONSENSUS if self.store.my_role == "reviewer" else self.store.me)
        root = media_root_for(self.url.user_facing(), self.store.get_meta("media_root_hint"), media_root)
        if root is None or not root.is_dir():
            raise StoreError(f"no media root on this machine{f' ({root} is not a folder)' if root else ''}: "
                             f"give it with CLINAUDIO_MEDIA_ROOT or `clinaudio project add ... --media-root`",
                             path=self.url.display)
        self.folder = root
        self.journaled = JournaledStore(self.store, journal)
        state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
        h = hashlib.sha1(f"{self.url.user_facing()}|{self.store.me}".encode()).hexdigest()[:16]
        self.autosave_dir = state / "clinaudio" / "project-autosave" / h
        self._recs: dict[Path, RecordingInfo] = {}
        # the version each loaded set is based on, kept with the set object itself, so a
        # background re-read (the dataset panel's scan) never moves an open set's base on
        self._versions: "weakref.WeakKeyDictionary[AnnotationSet, int]" = weakref.WeakKeyDictionary()
        self.missing: list[str] = []
        self.online = True

    # ---- the queue --------------------------------------------------------------
    def recordings(self) -> list[Path]:
        recs = (self.store.queue(include_done=True) if self.store.my_role == "annotator"
                else self.store.recordings())
        out, self.missing = [], []
        for r in recs:
            p = (self.folder / r.rel_path).resolve()
            if p.is_file():
                self._recs[p] = r
                out.append(p)
            else:
                self.missing.append(r.rel_path)
        return out

    def next_in_queue(self) -> Path | None:
        """The first recording assigned to me that I have not marked done."""
        for r in self.store.queue(self.store.me):
            p = (self.folder / r.rel_path).resolve()
            if p.is_file():
                self._recs[p] = r
                return p
        return None

    def info(self, path) -> RecordingInfo:
        p = Path(path).resolve()
        if p not in self._recs:
            self.recordings()
        if p not in self._recs:
            raise StoreError(f"{p.name} is not a recording of this project (for {self.store.me})",
                             path=self.url.display)
        return self._recs[p]

    # ---- the Project interface of the main window ---------------------------------
    def autosave_path(self, audio_path) -> Path:
        return self.autosave_dir / f"{self.info(audio_path).sha256}.json"

    def has_sidecar(self, audio_path) -> bool:
        return False

    def load(self, audio_path, *, prefer_autosave: bool = True) -> AnnotationSet:
        rec = self.info(audio_path)
        ls = self.store.load(rec.id, self.owner)
        auto = self.autosave_path(audio_path)
        if prefer_autosave and auto.exists():
            a = read_annotation_file(auto)
            base = a._metadata.pop("store_base_version", 0)
            a.mark_unsaved()  # unsaved edits from a session that ended
            self._versions[a] = int(base)          # a change made since then is a conflict
            return a
        a = AnnotationSet() if ls is None else ls.annotations
        if ls is not None and ls.status == "done":
            a._metadata["status"] = "done"          # what the dataset panel shows; not an edit
        self._versions[a] = 0 if ls is None else ls.version
        return a

    def version(self, annotations: AnnotationSet) -> int:
        return self._versions.get(annotations, 0)

    def save(self, audio_path, annotations: AnnotationSet) -> str:
        p = Path(audio_path).resolve()
        rec = self.info(p)
        st = annotations.metadata.get("status")
        kind, v = self.journaled.save(rec.id, self.owner, annotations, self.version(annotations),
                                      status=st if st in SET_STATUSES else None)
        self._versions[annotations] = v
        self.online = kind == "saved"
        annotations.mark_saved()
        self.discard_autosave(p)
        where = self.url.user_facing()
        return (f"{where} (version {v})" if kind == "saved"
                else f"the offline journal ({len(self.journaled.journal)} pending; server unavailable)")

    def autosave(self, audio_path, annotations: AnnotationSet) -> Path:
        path = self.autosave_path(audio_path)
        d = annotations.to_dict()
        d["metadata"] = dict(d["metadata"], store_base_version=self.version(annotations))
        atomic_write_text(path, json.dumps(d, ensure_ascii=False))
        return path

    def discard_autosave(self, audio_path) -> None:
        try:
            self.autosave_path(audio_path).unlink()
        except (FileNotFoundError, StoreError):
            pass

    def pending_recovery(self) -> list:
        return []

    def replay(self) -> dict:
        """Write the offline journal through (call when the server is back)."""
        try:
            out = self.journaled.replay()
        except StoreUnavailable:
            self.online = False
            raise
        self.online = out["server"] == "available"
        return out

    def close(self) -> None:
        self.store.close()
