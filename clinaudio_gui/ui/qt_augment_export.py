"""The augmentation panel's outputs (a mixin of QtAugmentPanel): "Add to project" (the augmented
recording with its moved annotations, written next to the original and opened) and "Batch
export..." (``run_batch`` in a worker thread with a progress dialog and cancel).
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLineEdit,
                               QProgressDialog, QPushButton, QSpinBox)

from clinaudio_gui.augment import AUDIO, Recipe
from clinaudio_gui.augment.compose import applied_names


class QtBatchWorker(QObject):
    """Runs ``run_batch`` off the GUI thread; ``cancel()`` stops after the current file."""

    progress = Signal(int, int, str)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, recipe: Recipe, in_dir: Path, out_dir: Path, *, per_file: int, seed: int, workers: int):
        super().__init__()
        self.recipe, self.in_dir, self.out_dir = recipe, in_dir, out_dir
        self.per_file, self.seed, self.workers = per_file, seed, workers
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        from clinaudio_gui.augment.batch import run_batch

        def cb(done, total, name):
            self.progress.emit(done, total, name)
            return not self._cancel.is_set()
        try:
            res = run_batch(self.recipe, self.in_dir, self.out_dir, per_file=self.per_file, seed=self.seed,
                            workers=self.workers, progress=cb)
        except Exception as e:  # noqa: BLE001 - shown to the user, never crashes the window
            self.failed.emit(f"{type(e).__name__}: {e}")
            return
        self.finished.emit(res)


class QtBatchDialog(QDialog):
    """Folder in, folder out, copies per file, seed, workers."""

    def __init__(self, parent, in_dir: str = "", out_dir: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Batch export augmented dataset")
        form = QFormLayout(self)
        self.in_edit = QLineEdit(in_dir)
        self.out_edit = QLineEdit(out_dir)
        for edit, title in ((self.in_edit, "Input folder"), (self.out_edit, "Output folder")):
            row = QHBoxLayout()
            row.addWidget(edit)
            b = QPushButton("...")
            b.clicked.connect(lambda _=False, e=edit, t=title: self._browse(e, t))
            row.addWidget(b)
            form.addRow(title, row)
        self.per_file = QSpinBox()
        self.per_file.setRange(1, 100)
        self.per_file.setValue(1)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.workers = QSpinBox()
        self.workers.setRange(1, 64)
        form.addRow("Copies per file", self.per_file)
        form.addRow("Seed", self.seed)
        form.addRow("Worker processes", self.workers)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        bb.accepted.connect(self.accept)
        bb.rejected.connect(self.reject)
        form.addRow(bb)

    def _browse(self, edit: QLineEdit, title: str) -> None:
        d = QFileDialog.getExistingDirectory(self, title, edit.text())
        if d:
            edit.setText(d)


class QtAugmentExportMixin:
    """Add to project and batch export for QtAugmentPanel."""

    # ------------------------------------------------------------------ add to the project
    def add_to_project(self) -> Path | None:
        """Augment the whole recording (or the selected segment) with the current draw, write it
        next to the recording (project folder) with its moved annotations, and open it."""
        from clinaudio_gui.core.annotations import AnnotationSet
        from clinaudio_gui.core.project import Project
        from clinaudio_gui.io import file_stem, write_audio
        if self.domain != AUDIO:
            self.info.setText("spectrogram-domain results are images: use Batch export (writes .npy)")
            return None
        rec = self.mw.current_recording()
        path = self.mw.current_path()
        if rec is None or path is None:
            self.info.setText("open a recording first")
            return None
        if self.params is None:
            self.params = self._draw()
        sr = int(rec.sample_rate_hz)
        start, end = 0.0, rec.duration_s
        on_span = self.scope_sel.isChecked() and self.mw.selection_range_s() is not None
        if on_span:
            start, end = self.mw.selection_range_s()
        ann = self.mw.current_annotations()
        all_segs = list(ann.segments) if ann is not None else []
        try:
            if on_span and self.splice_box.isChecked():
                from clinaudio_gui.augment.span import augment_span
                out, segs = augment_span(self.pipeline(), rec.read(0.0, None), sr, self.params, all_segs,
                                         start_s=start, end_s=end)
            else:
                y = rec.read(start, end)
                inside = [s.replace(start_s=max(0.0, s.start_s - start), end_s=min(end, s.end_s) - start)
                          for s in all_segs if s.end_s > start and s.start_s < end]
                out, segs = self.pipeline().apply_with_segments(y, sr, self.params, inside)
        except ValueError as e:
            self.info.setText(str(e))
            return None
        project = self.mw.project()
        folder = project.folder if project is not None else Path(path).parent
        stem = file_stem(Path(path).name)
        suffix = Path(path).suffix.lower() if Path(path).suffix.lower() in (".wav", ".flac") else ".flac"
        n = 1
        while (folder / f"{stem}__aug{n:02d}{suffix}").exists():
            n += 1
        target = folder / f"{stem}__aug{n:02d}{suffix}"
        write_audio(target, out, sr)
        md = {"augmented_from": Path(path).name, "augment_seed": self.seed,
              "augment_recipe": self.pipeline().to_dict(), "augment_params": self.params,
              "augment_span_s": [start, end],
              "augment_spliced": bool(on_span and self.splice_box.isChecked())}
        a = AnnotationSet([s.replace(id=s.id) for s in segs], ann.record_label if ann else None, md)
        (project or Project(folder)).save(target, a)
        self.last_saved_path = target
        self.mw.status(f"added {target.name} ({', '.join(applied_names(self.pipeline(), self.params)) or 'no change'})")
        self.mw.open_path(target)
        return target

    # ------------------------------------------------------------------ batch export
    def _batch_dialog(self) -> None:
        project = self.mw.project()
        in_dir = str(project.folder) if project is not None else ""
        dlg = QtBatchDialog(self, in_dir, (in_dir + "_augmented") if in_dir else "")
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        recipe = self._loaded_recipe or self.recipe()
        self.start_batch(recipe, Path(dlg.in_edit.text()), Path(dlg.out_edit.text()),
                         per_file=dlg.per_file.value(), seed=dlg.seed.value(), workers=dlg.workers.value())

    def start_batch(self, recipe: Recipe, in_dir: Path, out_dir: Path, *, per_file: int = 1, seed: int = 0,
                    workers: int = 1) -> None:
        """Export in a worker thread with a progress dialog (Cancel stops after the current file)."""
        if self._batch_thread is not None:
            self.info.setText("a batch export is already running")
            return
        self._progress = QProgressDialog("Augmenting...", "Cancel", 0, 0, self)
        self._progress.setWindowTitle("Batch export")
        self._progress.setMinimumDuration(0)
        self._progress.setAutoClose(False)
        self._progress.setAutoReset(False)
        worker = QtBatchWorker(recipe, in_dir, out_dir, per_file=per_file, seed=seed, workers=workers)
        thread = QThread(self)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self._on_batch_progress)
        worker.finished.connect(self._on_batch_done)
        worker.failed.connect(self._on_batch_failed)
        self._progress.canceled.connect(worker.cancel)
        self._batch_thread, self._batch_worker = thread, worker
        thread.start()
        self._progress.show()

    def cancel_batch(self) -> None:
        if self._batch_worker is not None:
            self._batch_worker.cancel()

    def _on_batch_progress(self, done: int, total: int, name: str) -> None:
        if self._progress is not None:
            self._progress.setMaximum(total)
            self._progress.setValue(done)
            self._progress.setLabelText(f"{done}/{total}: {name}")

    def _finish_thread(self) -> None:
        if self._batch_thread is not None:
            self._batch_thread.quit()
            self._batch_thread.wait(5000)
            # keep the finished pair alive with the panel: no Python GC of a QObject Qt still knows
            self._finished_batches.append((self._batch_thread, self._batch_worker))
        self._batch_thread = self._batch_worker = None
        if self._progress is not None:
            self._progress.close()
            self._progress = None

    def _on_batch_done(self, res) -> None:
        self._finish_thread()
        msg = (f"batch export {'cancelled' if res.cancelled else 'done'}: {res.written} file(s) from "
               f"{len(res.processed)} input(s); {len(res.skipped)} skipped; manifest {res.manifest_path}")
        if res.skipped:
            msg += "\nskipped: " + "; ".join(f"{r}: {why}" for r, why in res.skipped[:5])
        self.info.setText(msg)
        self.mw.status(msg.splitlines()[0])
        self.batchFinished.emit(res)

    def _on_batch_failed(self, msg: str) -> None:
        self._finish_thread()
        self.info.setText(f"batch export failed: {msg}")
        self.mw.status(f"batch export failed: {msg}")
