"""The main window's file handling (a mixin of QtMainWindow): open a recording or a folder,
leave and save it, drag and drop, import / export annotation files, recent files."""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from clinaudio_gui.core import Autosaver, ClinAudioError, Project
from clinaudio_gui.core.project import AUDIO_EXTENSIONS
from clinaudio_gui.io import file_stem, open_audio
from clinaudio_gui.ui.annotation_files import (FORMAT_SUFFIX, FORMAT_TITLES, read_annotations_any,
                                               write_annotations_any)
from clinaudio_gui.ui.spectro import SpectroSettings

log = logging.getLogger(__name__)

MAX_RECENT = 10
AUTOSAVE_DELAY_S = 1.0


KEEPS_PROVENANCE = ("csv", "clinaudio")     # formats that carry a segment's source and confidence


class QtMainFilesMixin:
    """Opening, saving, importing and exporting for QtMainWindow (which owns the state:
    ``_path``, ``_recording``, ``_annotations``, ``_project``, ``_autosaver``, ``_qs``)."""

    # ------------------------------------------------------------------ opening
    def open_path(self, path) -> bool:
        """Open a recording (with its annotations) or a folder (its first recording)."""
        if str(path).startswith(("sqlite:///", "postgresql://", "postgres://")):   # a team project
            from clinaudio_gui.ui.qt_project_queue import open_project_in
            return open_project_in(self, str(path))
        path = Path(path).expanduser()
        try:
            if path.is_dir():
                self._open_folder(path)
                return True
            return self._open_recording(path)
        except ClinAudioError as e:
            self._error(str(e))
        except Exception as e:  # noqa: BLE001 - the window survives any bad file
            log.exception("open failed")
            self._error(f"{path}: cannot open ({e})")
        return False

    def _open_file_dialog(self) -> None:
        start = str(self._path.parent) if self._path else str(self._qs.value("last_dir", str(Path.home())))
        exts = " ".join("*" + e for e in AUDIO_EXTENSIONS)
        fn, _ = QFileDialog.getOpenFileName(self, "Open recording", start, f"Audio ({exts});;All files (*)")
        if fn:
            self.open_path(fn)

    def _open_folder_dialog(self) -> None:
        start = str(self._qs.value("last_dir", str(Path.home())))
        d = QFileDialog.getExistingDirectory(self, "Open dataset folder", start)
        if d:
            self.open_path(d)

    def _open_folder(self, folder: Path, first: Path | None = None) -> None:
        self._leave_recording()
        if self._autosaver is not None:
            self._autosaver.flush()      # the edits of the folder left behind are in its autosave
        project = Project(folder)
        recs = project.recordings()
        self._project = project
        self._autosaver = Autosaver(project, delay_s=AUTOSAVE_DELAY_S)
        self.dataset.set_folder(project, recs)
        self._add_recent(folder)
        self._announce_recovery(project)
        if first is not None and Path(first).resolve() in recs:
            recs = [Path(first).resolve()] + [r for r in recs if r != Path(first).resolve()]
        skipped = []
        for rec in recs[:20]:          # a broken file first in the folder must not leave it empty
            try:
                self._open_recording(rec)
                break
            except ClinAudioError as e:
                skipped.append(str(e))
        if skipped:
            self._error(f"skipped {len(skipped)} unreadable recording(s): {skipped[0]}")
        if not recs:
            self.status(f"{folder}: no recordings ({', '.join(AUDIO_EXTENSIONS)})")

    def _open_recording(self, path: Path) -> bool:
        path = path.resolve()
        recording = open_audio(path)    # raises AudioFileError naming the file
        self._leave_recording()
        folder = path.parent
        if self._project is None or not _is_within(path, self._project.folder):
            self._project = Project(folder)
            self._autosaver = Autosaver(self._project, delay_s=AUTOSAVE_DELAY_S)
            siblings = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
                              and not p.name.startswith("."))
            self.dataset.set_folder(self._project, siblings)
        doc = self._document(path, recording)
        annotations, source, problem = doc.annotations, doc.source, doc.problem
        if source.startswith("autosave") and not self.recovery_notice.isVisible():
            self.recovery_notice.show_notice(f"Recovered unsaved edits of an earlier session (autosave) for "
                                             f"{path.name}: Ctrl+S saves them, File > Revert to saved drops them.")
        self._load_problem = problem
        self._path, self._recording, self._annotations = path, recording, annotations
        self._unsub = annotations.subscribe(self._on_annotations_event)
        s = self.spectro_panel.settings()
        sr = recording.sample_rate_hz
        if self._qs.value("spectro") is None:      # never customised: the defaults for this rate
            s = SpectroSettings.default_for(sr).replace(kind=s.kind, colormap=s.colormap, n_bands=s.n_bands)
        if s.f_max_hz > sr / 2:
            s = s.replace(f_max_hz=float(sr / 2))
        self.timeline.active_label = self.label_box.currentData() or ""
        self.timeline.set_recording(path, annotations, self._schema, s)
        self.spectro_panel.set_settings(self.timeline.settings, emit=False)
        self.segment_table.set_annotations(annotations, self._schema)
        self._sync_record_box()
        self.dataset.select_path(path)
        self._restore_suggestions(doc)         # this recording's own suggestions, nobody else's
        self._add_recent(path)
        self._remember_session(path)
        self._qs.setValue("last_dir", str(path.parent))
        self._update_title()
        self._update_info()
        if problem:
            self._error(f"{problem} - opened without those annotations; they are left untouched "
                        f"(edits go to the autosave; Save is refused until that file is fixed or removed)")
        else:
            self.status(f"opened {path.name} · annotations: {source}")
        self.recordingChanged.emit()
        return True

    def _leave_recording(self) -> None:
        """Before switching: nothing is saved; the recording's document (edits, undo history,
        suggestions) stays open in this session, its edits in the autosave (qt_main_session)."""
        self.player.stop()
        self._keep_current_doc()
        if self._unsub:
            self._unsub()
            self._unsub = None

    def dragEnterEvent(self, ev):
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev):
        urls = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    # ------------------------------------------------------------------ saving
    def _can_overwrite(self) -> bool:
        """False while the recording's own sidecar / autosave could not be read: never overwrite it."""
        if not self._load_problem or self._path is None or self._project is None:
            return True
        from clinaudio_gui.core import sidecar_path
        return not (sidecar_path(self._path).exists() or self._project.autosave_path(self._path).exists())

    def save(self) -> bool:
        if self._annotations is None or self._project is None or self._path is None:
            return False
        if not self._can_overwrite():
            self._error(f"not saved: {self._load_problem}")
            return False
        try:
            side = self._project.save(self._path, self._annotations)
        except Exception as e:  # noqa: BLE001
            self._error(f"{self._path}: could not save ({e}); the autosave keeps your edits")
            return False
        if self._autosaver is not None:
            self._autosaver._pending.pop(self._path, None)
        doc = self._docs.get(self._path)
        if doc is not None:
            doc.mark_disk()
        self._update_dataset_row()
        self._update_title()
        self.status(f"saved {side}")
        return True

    def mark_done(self) -> None:
        """Ctrl+D: status "done" and save; says so (or that it already was)."""
        a = self._annotations
        if a is None or self._path is None:
            self.status("Ctrl+D marks the open recording done: open one first")
            return
        if a.metadata.get("status") == "done" and not a.dirty:
            self.status(f"{self._path.name} is already marked done")
            return
        if a.metadata.get("status") != "done":
            a.set_metadata("status", "done")
        if self.save():
            self.status(f"marked {self._path.name} done and saved it (PgDn: next unlabeled)")

    # ------------------------------------------------------------------ import / export
    def _import_dialog(self, fmt: str) -> None:
        start = str(self._path.parent) if self._path else ""
        fn, _ = QFileDialog.getOpenFileName(self, f"Import {fmt}", start, FORMAT_TITLES.get(fmt, "*") + ";;All files (*)")
        if fn:
            self.import_annotations(Path(fn), fmt)

    def import_annotations(self, path: Path, fmt: str | None = None) -> bool:
        """Replace the segments and record label by those of a file; one undo step."""
        if self._annotations is None:
            self._error("open a recording first")
            return False
        try:
            dur = self._recording.duration_s if self._recording else None
            new = read_annotations_any(Path(path), fmt, audio_duration_s=dur, schema=self._schema)
        except (ClinAudioError, ValueError) as e:
            self._error(str(e))
            return False
        from clinaudio_gui.io import label_message
        unmatched = label_message(new)   # labels the active schema does not know: kept, and said once
        a = self._annotations
        with a.gesture(f"import {Path(path).name}"):
            for s in list(a.segments):
                a.remove(s.id)
            for s in new.segments:
                a.add(s)
            if new.record_label != a.record_label:
                a.set_record_label(new.record_label)
        self.status(f"imported {len(new)} segment(s) from {path} (Ctrl+Z to undo)"
                    + (f"; {unmatched}" if unmatched else ""))
        return True

    def _export_dialog(self, fmt: str) -> None:
        if self._path is None:
            self._error("open a recording first")
            return
        default = self._path.with_name(file_stem(self._path) + ".export" + FORMAT_SUFFIX.get(fmt, ".txt"))
        fn, _ = QFileDialog.getSaveFileName(self, f"Export {fmt}", str(default), FORMAT_TITLES.get(fmt, "*"))
        if fn:
            self.export_annotations(Path(fn), fmt)

    def export_annotations(self, path: Path, fmt: str) -> bool:
        if self._annotations is None:
            return False
        try:
            dur = self._recording.duration_s if self._recording else None
            write_annotations_any(Path(path), self._annotations, fmt, audio_duration_s=dur)
        except (ClinAudioError, ValueError, OSError) as e:
            self._error(str(e))
            return False
        msg = f"exported {len(self._annotations)} segment(s) to {path} ({fmt})"
        n_model = sum(1 for s in self._annotations.segments if s.source == "model")
        if n_model and fmt not in KEEPS_PROVENANCE:
            msg += (f"; {fmt} has no place for source and confidence: {n_model} model-made segment(s) "
                    f"lose them (CSV and the native .clinaudio.json keep them)")
        self.status(msg)
        return True

    # ------------------------------------------------------------------ recent files
    def _add_recent(self, path: Path) -> None:
        items = [str(path)] + [p for p in self._recent() if p != str(path)]
        self._qs.setValue("recent", items[:MAX_RECENT])
        self._fill_recent()

    def _recent(self) -> list[str]:
        v = self._qs.value("recent", [])
        if isinstance(v, str):
            v = [v]
        return [str(x) for x in (v or [])]

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self._recent():
            a = QAction(p, self)
            a.triggered.connect(lambda _=False, q=p: self.open_path(q))
            self.recent_menu.addAction(a)
        self.recent_menu.setEnabled(bool(self._recent()))


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False
