"""The working session of QtMainWindow: recordings stay open with their edits, nothing is saved
without asking, recovered edits are announced, and the next start returns to the last recording.

- Each opened recording is a document (ui/session_docs.py): its annotations with their undo
  history and the model's suggestions for it. Switching recordings keeps the document (the
  autosave holds its edits) and never writes the sidecar; switching back restores edits, undo
  history and suggestions. Suggestions therefore never follow the user to another recording.
- Quitting with unsaved edits asks Save / Discard / Cancel for all of them (a window-modal box);
  File > Revert to saved asks the same for the open recording.
- Opening a folder whose autosave holds edits of an earlier session (a crash, a kill) shows a
  notice listing those recordings; they open with their edits.
- The last recording (and its folder) is remembered; ``restore_last_session`` reopens it.
- The segment table's loop button plays a segment looped at 0.5x; View > Full band toggles the
  spectrogram between the lung-sound band (50-2000 Hz) and 0 Hz - Nyquist.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QTimer

from clinaudio_gui.core import Project
from clinaudio_gui.ui.annotation_files import load_for_recording
from clinaudio_gui.ui.qt_unsaved import QtNoticeBar, ask_unsaved
from clinaudio_gui.ui.session_docs import DocumentStore, RecordingDoc

log = logging.getLogger(__name__)


class QtMainSessionMixin:
    def _init_session(self) -> None:
        self._docs = DocumentStore()
        self._close_confirmed = False
        self._unsaved_box = None
        self.recovery_notice = QtNoticeBar()
        self.centralWidget().layout().insertWidget(0, self.recovery_notice)
        self._row_timer = QTimer(self)           # the dataset row follows edits, ~7 times a second at most
        self._row_timer.setSingleShot(True)
        self._row_timer.setInterval(150)
        self._row_timer.timeout.connect(self._update_dataset_row)
        self.segment_table.loopRequested.connect(self.play_segment_looped)

    # ------------------------------------------------------------------ documents
    def unsaved_recordings(self) -> list[Path]:
        """Recordings of this session with edits not saved to their sidecar (the open one included)."""
        return [d.path for d in self._docs.unsaved()]

    def _document(self, path: Path, recording) -> RecordingDoc:
        doc = self._docs.get(path)
        if doc is None:
            annotations, source, problem = load_for_recording(self._project, path,
                                                              audio_duration_s=recording.duration_s,
                                                              schema=getattr(self, "_schema", None))
            doc = RecordingDoc(path, annotations, source, problem)
            doc.project = self._project
            doc.mark_disk()
            self._docs.put(doc)
        else:
            doc.source = "kept from this session" + (" (unsaved edits)" if doc.dirty else "")
        return doc

    def _keep_current_doc(self) -> None:
        """Leaving the open recording: its suggestions stay with it; its edits in the autosave."""
        if self._path is None or self._annotations is None:
            return
        doc = self._docs.get(self._path)
        if doc is not None:
            doc.suggestions = list(self._suggestions)
            doc.suggestion_record = tuple(self._suggestion_record)
            doc.accepted_suggestions = dict(self._sugg_accepted)
        if self._autosaver is not None and self._annotations.dirty and not self._close_confirmed:
            try:
                self._autosaver.flush()
            except Exception as e:  # noqa: BLE001
                self._error(f"autosave failed: {e}")
        self._update_dataset_row()

    def _restore_suggestions(self, doc: RecordingDoc) -> None:
        self._suggestions = list(doc.suggestions)
        self._suggestion_record = tuple(doc.suggestion_record)
        self._sugg_accepted = dict(doc.accepted_suggestions)
        self._sugg_selected = None
        self.timeline.set_suggestions(self._suggestions)
        self._update_suggestion_bar()

    def _schedule_row_update(self) -> None:
        if not self._row_timer.isActive():
            self._row_timer.start()

    def _update_dataset_row(self) -> None:
        if self._path is not None and self._annotations is not None:
            self.dataset.show_annotations(self._path, self._annotations, unsaved=self._annotations.dirty)

    def _save_doc(self, doc: RecordingDoc) -> str | None:
        """Save one document; None when saved, else the problem (one line)."""
        project = getattr(doc, "project", None) or Project(doc.path.parent)
        if doc.problem:
            return f"{doc.path.name}: not saved, {doc.problem}"
        try:
            project.save(doc.path, doc.annotations)
        except Exception as e:  # noqa: BLE001
            return f"{doc.path}: could not save ({e}); the autosave keeps the edits"
        if self._autosaver is not None:
            self._autosaver._pending.pop(doc.path, None)
        doc.mark_disk()
        return None

    def _discard_doc(self, doc: RecordingDoc) -> None:
        project = getattr(doc, "project", None) or Project(doc.path.parent)
        if self._autosaver is not None:
            self._autosaver._pending.pop(doc.path, None)
        project.discard_autosave(doc.path)
        self._docs.drop(doc.path)

    # ------------------------------------------------------------------ recovery notice
    def _announce_recovery(self, project: Project) -> None:
        items = [r for r in project.pending_recovery() if r.audio_path not in self._docs]
        if not items:
            return
        paths = [r.audio_path for r in items]
        self.recovery_notice.show_notice(
            f"Recovered unsaved edits of an earlier session (autosave) for {len(paths)} recording(s): "
            + ", ".join(p.name for p in paths[:8]) + (" …" if len(paths) > 8 else "")
            + ". They open with those edits: Ctrl+S saves them, File > Revert to saved drops them.")
        self.status(f"{len(paths)} recording(s) have recovered autosaved edits; they open with them")

    # ------------------------------------------------------------------ asking before leaving edits
    def _confirm_close(self) -> bool:
        """True: close now. False: a Save / Discard / Cancel box is up (or the user cancelled)."""
        if self._close_confirmed:
            return True
        unsaved = self.unsaved_recordings()
        if not unsaved:
            return True
        if self._unsaved_box is None or not self._unsaved_box.isVisible():
            self._unsaved_box = ask_unsaved(self, unsaved, self._close_choice, question="Quit ClinAudio?")
        return False

    def _close_choice(self, choice: str) -> None:
        self._unsaved_box = None
        if choice == "cancel":
            self.status("quit cancelled; the unsaved edits stay open")
            return
        self._autosave_timer.stop()
        problems = []
        for doc in list(self._docs.unsaved()):
            if choice == "save":
                p = self._save_doc(doc)
                if p:
                    problems.append(p)
            else:
                self._discard_doc(doc)
        if problems:
            self._autosave_timer.start()
            self._error("; ".join(problems))
            return
        self._close_confirmed = True
        self.close()

    def revert_current(self) -> None:
        """File > Revert to saved: drop the open recording's unsaved edits (asks first)."""
        if self._path is None or self._annotations is None:
            return
        if not self._annotations.dirty:
            self.status(f"{self._path.name}: no unsaved edits")
            return
        path = self._path

        def chosen(choice: str) -> None:
            doc = self._docs.get(path)
            if choice == "cancel" or doc is None or self._path != path:
                return
            if choice == "save":
                self.save()
                return
            self._keep_current_doc()
            self._discard_doc(doc)
            self._annotations = None          # nothing to keep when it reopens
            self._open_recording(path)
            self.status(f"reverted {path.name} to the saved annotations")
        ask_unsaved(self, [path], chosen, question=f"Revert {path.name} to the saved annotations?",
                    discard_hint="Discard drops the edits (and their autosave) and reloads the saved ones.")

    # ------------------------------------------------------------------ last session
    def _remember_session(self, path: Path) -> None:
        self._qs.setValue("last_recording", str(path))
        self._qs.setValue("last_folder", str(self._project.folder) if self._project is not None else "")

    def restore_last_session(self) -> bool:
        """Reopen the last session's recording (in its folder, when it was opened from one)."""
        rec = str(self._qs.value("last_recording", "") or "")
        folder = str(self._qs.value("last_folder", "") or "")
        if not rec or not Path(rec).is_file():
            return False
        if folder and Path(folder).is_dir():
            try:
                self._open_folder(Path(folder), first=Path(rec))
            except Exception as e:  # noqa: BLE001 - a folder that went bad: the recording alone
                log.info("last folder %s: %s", folder, e)
            else:
                return self._path == Path(rec).resolve()
        return self.open_path(rec)

    # ------------------------------------------------------------------ listening / display
    def play_segment_looped(self, sid: str, speed: float = 0.5) -> None:
        """Play one segment over and over at ``speed`` (0.5x: slowed, pitch kept); Escape stops."""
        if self._annotations is None or self._annotations.index_of(sid) is None:
            return
        seg = self._annotations.get(sid)
        self.timeline.select(sid)
        i = self.speed_box.findData(speed)
        if i >= 0:
            self.speed_box.setCurrentIndex(i)      # sets the player's speed too
        else:
            self.player.set_speed(speed)
        self.act_loop.setChecked(True)             # sets the player's loop
        self.player.play_recording(self._recording, start_s=seg.start_s, end_s=seg.end_s)
        self.status(f"looping {seg.label} {seg.start_s:.2f}-{seg.end_s:.2f} s at {speed:g}x (Escape stops, "
                    "L turns the loop off)")

    def toggle_full_band(self) -> None:
        if self._recording is None:
            return
        sr = self._recording.sample_rate_hz
        s = self.timeline.settings
        s = s.with_band(not s.is_full_band(sr), sr)
        self.spectro_panel.set_settings(s, emit=False)
        self._on_spectro_settings(s)
        self.act_full_band.setChecked(s.is_full_band(sr))
        self.status(f"spectrogram {s.f_min_hz:g}-{s.f_max_hz:g} Hz"
                    + (" (full band)" if s.is_full_band(sr) else " (lung sounds)"))

