"""Model in the loop (issue #19): a labeling queue ranked by the project's model, fine-tuning on the
project's own labels in a background process, and the model versions with rollback.

* Rank queue: the model in use for the folder (its fine-tuned version, else the bundled detector)
  analyses every recording in a worker QThread (progress, cancel); ``rank_queue`` orders the ones
  not yet labeled ('done') by the chosen strategy (uncertainty / diversity / random + seed). The
  dataset list shows the rank ('queue') and the reason beside each recording and sorts by it, so
  "next recording" (PgDn) follows the queue.
* Fine-tuning: recordings saved as 'done' are counted; after N of them (QSettings) or on "Fine-tune
  now", ``clinaudio learn finetune FOLDER --progress-json`` runs as a separate process (QProcess):
  the GUI only reads its progress lines, so it never stalls; Cancel terminates it (exit 3). The
  decision (put in use, or kept aside with its scores) is shown when it ends.
* Versions: ``QtVersionsTable``; after a change the Classify panel and the suggestions use the new
  version for this folder's recordings (``QtClassifyPanel.project_detector``).
"""
from __future__ import annotations

import collections
import hashlib
import html
import json
import os
import threading
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, QSettings, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QSpinBox, QVBoxLayout, QWidget)

from clinaudio_gui.ui.learn_jobs import (EXIT_CANCELLED, EXIT_OK, NewLabelCounter, cached_detector, decision_text,
                                         finetune_command, parse_progress_line, parse_result, project_model)
from clinaudio_gui.ui.qt_learn_versions import QtVersionsTable

STRATEGIES = ("uncertainty", "diversity", "random")
DEFAULT_EVERY = 10
CHILD_NICE = 10
KILL_AFTER_MS = 120_000     # Cancel: SIGTERM, then SIGKILL if the round has not stopped by then
_RUNNING: set = set()   # queue workers kept alive until they finish
_ANALYSED: dict = {}    # (model, path, size, mtime) -> the detector's analysis: another strategy re-ranks at once


def _settings() -> QSettings:
    return QSettings("ClinAudio", "clinaudio-gui")


def _folder_key(folder: Path) -> str:
    return "learn/counted_" + hashlib.sha1(str(Path(folder).resolve()).encode()).hexdigest()[:16]


def _analysis_key(model: str, path: str) -> tuple:
    try:
        st = Path(path).stat()
        return model, path, st.st_size, st.st_mtime_ns
    except OSError:
        return model, path, -1, -1


class QtQueueWorker(QThread):
    """Analyses the recordings with the project's model and ranks the ones not yet labeled."""

    progress = Signal(int, int)
    done = Signal(object)       # [(Path, score, reason), ...] in queue order
    cancelled = Signal()
    failed = Signal(str)

    def __init__(self, paths: list, labeled: list, strategy: str, seed: int, model_dir: str | None, parent=None):
        super().__init__(parent)
        self.paths, self.labeled = [str(p) for p in paths], [str(p) for p in labeled]
        self.strategy, self.seed, self.model_dir = strategy, int(seed), model_dir
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        try:
            import torch
            torch.set_num_threads(1)   # the GUI thread keeps the other core
            from clinaudio_gui.engine.detector.active import analyse_recordings, rank_queue
            key = self.model_dir or "__bundled_detector__"
            det = cached_detector(self.model_dir)
            keys = {p: _analysis_key(key, p) for p in self.paths}
            todo = [p for p in self.paths if keys[p] not in _ANALYSED]
            new = analyse_recordings(det, todo, progress=self.progress.emit, should_stop=self._stop.is_set)
            if self._stop.is_set():
                self.cancelled.emit()
                return
            for p, r in new.items():
                if "error" not in r:
                    _ANALYSED[keys[p]] = r
            results = {p: new[p] if p in new else _ANALYSED[keys[p]] for p in self.paths}
            items = rank_queue(results, self.strategy, seed=self.seed, labeled=self.labeled)
            self.done.emit([(Path(it.audio), float(it.score), str(it.reason)) for it in items])
        except Exception as e:  # noqa: BLE001 - reported in the panel
            self.failed.emit(f"{type(e).__name__}: {e}")


class QtLearnPanel(QWidget):
    """Dock panel "Model in the loop"."""

    queueRanked = Signal(object)        # [(Path, score, reason), ...]
    finetuneFinished = Signal(dict)     # the round's result ({"cancelled": True} / {"error": ...} too)
    modelChanged = Signal(str)          # the version now in use for the open folder

    def __init__(self, main_window, parent=None):
        super().__init__(parent)
        self.main_window = main_window
        self.setObjectName("QtLearnPanel")
        self._qs = _settings()
        self.folder: Path | None = None
        self.counter = NewLabelCounter()
        self.queue: list = []
        self._worker: QtQueueWorker | None = None
        self.proc: QProcess | None = None
        self._stdout = ""
        self._stderr_buf = ""
        self._stderr_tail: collections.deque = collections.deque(maxlen=12)
        self.last_result: dict | None = None
        self.last_exit: tuple | None = None      # (exit code, "normal" / "crash") of the last round
        self.extra_args: list[str] = []     # added to the fine-tune command (tests: a tiny round)
        self.child_nice = CHILD_NICE        # the round runs at a lower CPU priority than the window
        self.child_session = True           # ... in a session of its own (see start_finetune)
        lay = QVBoxLayout(self)

        # ---- labeling queue
        qbox = QGroupBox("Labeling queue")
        ql = QVBoxLayout(qbox)
        form = QFormLayout()
        self.strategy_combo = QComboBox()
        for s, tip in (("uncertainty", "where the model is least sure first (record margin, frame uncertainty)"),
                       ("diversity", "spread over the detector's embeddings: unlike what is labeled already"),
                       ("random", "a seeded random order (the reference)")):
            self.strategy_combo.addItem(s, s)
            self.strategy_combo.setItemData(self.strategy_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.strategy_combo.setCurrentIndex(max(0, self.strategy_combo.findData(str(self._qs.value("learn/strategy",
                                                                                                  "uncertainty")))))
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 9999)
        self.seed_spin.setMaximumWidth(70)
        self.seed_spin.setValue(int(self._qs.value("learn/seed", 0)))
        self.seed_spin.setToolTip("seed of the random and diversity strategies")
        srow = QHBoxLayout()
        srow.addWidget(self.strategy_combo, 1)
        srow.addWidget(QLabel("seed"))
        srow.addWidget(self.seed_spin)
        form.addRow("Strategy", srow)
        ql.addLayout(form)
        self.rank_button = QPushButton("Rank queue")
        self.rank_button.setToolTip("order the folder's unlabeled recordings for labeling with the model in use; "
                                    "the dataset list follows the queue (PgDn: next in the queue)")
        self.rank_button.clicked.connect(self.rank_queue)
        self.rank_progress = QProgressBar()
        self.rank_progress.setMaximumHeight(14)
        self.rank_progress.setVisible(False)
        ql.addWidget(self.rank_button)
        ql.addWidget(self.rank_progress)
        self.queue_label = QLabel("Open a folder, then Rank queue.")
        self.queue_label.setWordWrap(True)
        self.queue_label.setTextFormat(Qt.TextFormat.RichText)
        ql.addWidget(self.queue_label)
        lay.addWidget(qbox)

        # ---- fine-tuning
        fbox = QGroupBox("Fine-tuning on this folder's labels")
        fl = QVBoxLayout(fbox)
        frow = QFormLayout()
        self.every_spin = QSpinBox()
        self.every_spin.setRange(1, 10_000)
        self.every_spin.setSuffix(" new labels")
        self.every_spin.setValue(int(self._qs.value("learn/finetune_every", DEFAULT_EVERY)))
        self.every_spin.setToolTip("start a fine-tuning round by itself after this many recordings saved as done")
        self.every_spin.valueChanged.connect(self._every_changed)
        frow.addRow("Fine-tune after", self.every_spin)
        fl.addLayout(frow)
        self.counter_label = QLabel("")
        self.counter_label.setWordWrap(True)
        fl.addWidget(self.counter_label)
        brow = QHBoxLayout()
        self.finetune_button = QPushButton("Fine-tune now")
        self.finetune_button.setToolTip("fine-tune the model in use on the folder's 'done' recordings; part of the "
                                        "patients is held back to judge it; it is put in use only if it scores better")
        self.finetune_button.clicked.connect(lambda: self.start_finetune())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_finetune)
        brow.addWidget(self.finetune_button)
        brow.addWidget(self.cancel_button)
        fl.addLayout(brow)
        self.ft_progress = QProgressBar()
        self.ft_progress.setRange(0, 1000)
        self.ft_progress.setValue(0)
        self.ft_progress.setFormat("%p%")
        fl.addWidget(self.ft_progress)
        self.stage_label = QLabel("")
        self.stage_label.setWordWrap(True)
        fl.addWidget(self.stage_label)
        self.decision_label = QLabel("")
        self.decision_label.setWordWrap(True)
        self.decision_label.setTextFormat(Qt.TextFormat.RichText)
        fl.addWidget(self.decision_label)
        lay.addWidget(fbox)

        # ---- versions
        vbox = QGroupBox("Model versions")
        vl = QVBoxLayout(vbox)
        self.versions = QtVersionsTable()
        self.versions.modelChanged.connect(self._on_model_changed)
        vl.addWidget(self.versions)
        lay.addWidget(vbox, 1)

        ds = getattr(main_window, "dataset", None)
        if ds is not None:
            ds.model.dataChanged.connect(self._rows_changed)
            ds.model.modelReset.connect(self._rows_reset)
            ds.model.rowsInserted.connect(lambda _p, a, b: self._observe_rows(a, b))
        sig = getattr(main_window, "recordingChanged", None)
        if sig is not None:
            sig.connect(self._sync_folder)
        self._sync_folder()

    # ---------------------------------------------------------------- folder
    def _project_folder(self) -> Path | None:
        proj = self.main_window.project() if hasattr(self.main_window, "project") else None
        folder = getattr(proj, "folder", None)
        return Path(folder) if folder is not None and Path(folder).is_dir() else None

    def _sync_folder(self, *_a) -> None:
        folder = self._project_folder()
        if folder == self.folder:
            return
        self.folder = folder
        counted = []
        if folder is not None:
            try:
                counted = json.loads(str(self._qs.value(_folder_key(folder), "[]")))
            except ValueError:
                counted = []
        self.counter = NewLabelCounter(counted)
        self._observe_rows(0, len(self._rows()) - 1, counting=False)
        self.versions.set_folder(folder)
        self._update_counter()
        if folder is not None and self.proc is None:
            self.queue_label.setText(f"Folder <b>{folder.name}</b>: Rank queue orders its unlabeled recordings.")

    def _rows(self) -> list:
        ds = getattr(self.main_window, "dataset", None)
        return ds.model.rows if ds is not None else []

    # ---------------------------------------------------------------- counting new labels
    def _rows_reset(self) -> None:
        self.counter.reset_rows()
        self._sync_folder()
        self._observe_rows(0, len(self._rows()) - 1, counting=False)

    def _rows_changed(self, top_left, bottom_right, *_roles) -> None:
        self._observe_rows(top_left.row(), bottom_right.row())

    def _observe_rows(self, first: int, last: int, counting: bool = True) -> None:
        rows = self._rows()
        if self.folder is None or first < 0:
            return
        new = 0
        for r in rows[first:last + 1]:
            if self.counter.observe(r.path, r.status, r.unsaved) and counting:
                new += 1
        if new:
            self._save_counter()
            self._update_counter()
            if self.new_labels() >= self.every_spin.value() and self.proc is None:
                self.start_finetune(auto=True)

    def new_labels(self) -> int:
        return self.counter.still_done(r.path for r in self._rows() if r.status == "done")

    def _save_counter(self) -> None:
        if self.folder is not None:
            self._qs.setValue(_folder_key(self.folder), json.dumps(sorted(self.counter.counted)))

    def _update_counter(self) -> None:
        n, every = self.new_labels(), self.every_spin.value()
        self.counter_label.setText(f"{n} / {every} new labeled recording(s) since the last round"
                                   if self.folder is not None else "Open a folder to fine-tune on its labels.")

    def _every_changed(self, v: int) -> None:
        self._qs.setValue("learn/finetune_every", int(v))
        self._update_counter()

    # ---------------------------------------------------------------- queue
    def rank_queue(self) -> bool:
        """Start ranking (or stop a running one); True when a ranking started."""
        if self._worker is not None and self._worker.isRunning():
            self._worker.stop()
            self.rank_button.setText("Stopping...")
            return False
        rows = self._rows()
        if self.folder is None or not rows:
            self.queue_label.setText("Open a folder first: the queue orders its recordings.")
            return False
        if not all(r.scanned for r in rows):
            self.queue_label.setText("The folder is still being scanned: rank again in a moment.")
            return False
        paths = [r.path for r in rows if r.status != "broken"]
        labeled = [r.path for r in rows if r.status == "done"]
        pm = project_model(self.folder)
        strategy, seed = self.strategy_combo.currentData(), self.seed_spin.value()
        self._qs.setValue("learn/strategy", strategy)
        self._qs.setValue("learn/seed", seed)
        w = QtQueueWorker(paths, labeled, strategy, seed, str(pm[1]) if pm else None)
        _RUNNING.add(w)
        w.finished.connect(lambda w=w: _RUNNING.discard(w))
        w.progress.connect(self._rank_progress)
        w.done.connect(self._on_ranked)
        w.cancelled.connect(lambda: self._rank_ended("Ranking cancelled: the list keeps its order."))
        w.failed.connect(lambda m: self._rank_ended("Ranking failed: " + html.escape(m)))
        self._worker = w
        self._ranking_model = pm[0] if pm else "bundled"
        self.rank_button.setText("Cancel ranking")
        self.rank_progress.setRange(0, len(paths))
        self.rank_progress.setValue(0)
        self.rank_progress.setVisible(True)
        self.queue_label.setText(f"Ranking {len(paths) - len(labeled)} unlabeled recording(s) "
                                 f"({strategy}, model {self._ranking_model})...")
        w.start()
        return True

    def _rank_progress(self, i: int, n: int) -> None:
        self.rank_progress.setRange(0, n)
        self.rank_progress.setValue(i)

    def _rank_ended(self, text: str) -> None:
        if self._worker is not None:
            self._worker.wait(5000)   # its last signal: never destroy a running QThread
        self.rank_button.setText("Rank queue")
        self.rank_progress.setVisible(False)
        self.queue_label.setText(text)

    def _on_ranked(self, items: list) -> None:
        self.queue = list(items)
        ds = getattr(self.main_window, "dataset", None)
        if ds is not None:
            ds.set_queue(items)
        n_lab = sum(1 for r in self._rows() if r.status == "done")
        head = "".join(f"<br>{i + 1}. {html.escape(p.name)}: <i>{html.escape(reason)}</i>"
                       for i, (p, _s, reason) in enumerate(items[:3]))
        self._rank_ended(f"Queue of {len(items)} recording(s) by <b>{self.strategy_combo.currentData()}</b> "
                         f"(model {self._ranking_model}; {n_lab} labeled left out). PgDn follows it.{head}")
        self.queueRanked.emit(items)

    # ---------------------------------------------------------------- fine-tuning
    def finetune_running(self) -> bool:
        return self.proc is not None

    def start_finetune(self, auto: bool = False) -> bool:
        if self.proc is not None:
            return False
        if self.folder is None:
            self.decision_label.setText("Open a folder first: fine-tuning learns from its labels.")
            return False
        a = self.main_window.current_annotations() if hasattr(self.main_window, "current_annotations") else None
        if a is not None and a.dirty and hasattr(self.main_window, "status"):
            self.main_window.status("fine-tuning uses the saved labels: Ctrl+S saves the open recording's edits")
        cmd = finetune_command(self.folder, nice=self.child_nice) + list(self.extra_args)
        p = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        p.setProcessEnvironment(env)
        if self.child_session and os.name == "posix" and hasattr(p, "setUnixProcessParameters"):
            # its own session = its own scheduler group (Linux autogroup): a busy round then never
            # delays the window's event loop; in the window's group even `nice 19` did (bench/learn_gui_bench.py)
            p.setUnixProcessParameters(QProcess.UnixProcessFlag.CreateNewSession)
        p.setProgram(cmd[0])
        p.setArguments(cmd[1:])
        p.readyReadStandardError.connect(self._read_stderr)
        p.readyReadStandardOutput.connect(self._read_stdout)
        p.finished.connect(self._on_proc_finished)
        p.errorOccurred.connect(self._on_proc_error)
        self.proc = p
        self._stdout, self._stderr_buf = "", ""
        self._stderr_tail.clear()
        self.ft_progress.setValue(0)
        self.stage_label.setText(("Fine-tuning started by itself after "
                                  f"{self.new_labels()} new labeled recordings" if auto else "Fine-tuning")
                                 + f" on {self.folder.name}...")
        self.decision_label.setText("")
        self.finetune_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._started_auto = auto
        p.start()
        return True

    def cancel_finetune(self) -> None:
        if self.proc is None:
            return
        self.stage_label.setText("Cancelling: the round stops at its next step...")
        self.cancel_button.setEnabled(False)
        self.proc.terminate()       # SIGTERM: the CLI stops between steps and exits 3
        proc = self.proc            # a step can take long on a busy machine (25 s measured): kill only late
        QTimer.singleShot(KILL_AFTER_MS, lambda: proc.kill() if self.proc is proc else None)

    def _read_stderr(self) -> None:
        if self.proc is None:
            return
        self._stderr_buf += bytes(self.proc.readAllStandardError()).decode("utf-8", "replace")
        *lines, self._stderr_buf = self._stderr_buf.replace("\r", "\n").split("\n")
        for line in lines:
            got = parse_progress_line(line)
            if got is None:
                if line.strip():
                    self._stderr_tail.append(line.strip())
                continue
            frac, stage = got
            self.ft_progress.setValue(int(round(frac * 1000)))
            if stage and self.cancel_button.isEnabled():
                self.stage_label.setText(stage)

    def _read_stdout(self) -> None:
        if self.proc is not None:
            self._stdout += bytes(self.proc.readAllStandardOutput()).decode("utf-8", "replace")

    def _on_proc_error(self, err) -> None:
        if err == QProcess.ProcessError.FailedToStart and self.proc is not None:
            self._finish_round({"error": f"could not start {self.proc.program()}: {self.proc.errorString()}"})

    def _on_proc_finished(self, code: int, status) -> None:
        if self.proc is None:
            return
        self.last_exit = (int(code), "normal" if status == QProcess.ExitStatus.NormalExit else "crash")
        self._read_stdout()
        self._read_stderr()
        if self._stderr_buf.strip():
            self._stderr_tail.append(self._stderr_buf.strip())
        if status == QProcess.ExitStatus.NormalExit and code == EXIT_OK:
            res = parse_result(self._stdout)
            self._finish_round(res if res is not None else {"error": "the round printed no result"})
        elif status == QProcess.ExitStatus.NormalExit and code == EXIT_CANCELLED or not self.cancel_button.isEnabled():
            self._finish_round({"cancelled": True})
        else:
            why = self._stderr_tail[-1] if self._stderr_tail else f"exit code {code}"
            self._finish_round({"error": why, "exit_code": code})

    def _finish_round(self, res: dict) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.deleteLater()
        self.finetune_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.last_result = res
        if "error" in res:
            self.stage_label.setText("")
            self.decision_label.setText(f"<b>Fine-tuning failed</b>: {html.escape(str(res['error']))}")
        elif res.get("cancelled"):
            self.stage_label.setText("")
            self.decision_label.setText("Fine-tuning cancelled: no new version, the model in use is unchanged.")
        else:
            self.ft_progress.setValue(1000)
            self.stage_label.setText("")
            text = decision_text(res)
            self.decision_label.setText(f"<b>{html.escape(text)}</b>")
            self.counter.clear()              # the labels so far went into this round
            self._save_counter()
            self._update_counter()
            self.versions.refresh()
            if res.get("accepted"):
                self._on_model_changed(str(res.get("version")), from_round=True)
            if hasattr(self.main_window, "status"):
                self.main_window.status(text)
        self.finetuneFinished.emit(res)

    def _on_model_changed(self, version: str, from_round: bool = False) -> None:
        if self.queue:
            self.queue_label.setText(f"Model {version} now in use: Rank queue again to order the queue with it.")
        if hasattr(self.main_window, "status") and not from_round:
            self.main_window.status(f"model {version} in use for {self.folder.name if self.folder else ''}")
        self.modelChanged.emit(version)

    def shutdown(self) -> None:
        """The window closes: end a running round (it keeps nothing half-made) and the ranking."""
        if self.proc is not None:
            proc = self.proc
            proc.terminate()
            if not proc.waitForFinished(5000):
                proc.kill()
                proc.waitForFinished(2000)
        if self._worker is not None and self._worker.isRunning():
            self._worker.stop()
            self._worker.wait(10_000)


def wire_learn(main_window) -> None:
    """Connect the Model-in-the-loop panel to the Classify panel and the suggestion track: after a
    model change the Classify panel says which model it now uses; suggestions name their model."""
    panels = getattr(main_window, "panels", {})
    learn, clf = panels.get("QtLearnPanel"), panels.get("QtClassifyPanel")
    if learn is not None and clf is not None:
        def changed(version: str) -> None:
            clf.last_result = None
            clf.result_label.setText(f"Model {version} now in use for this folder: Detect to get its suggestions.")
        learn.modelChanged.connect(changed)
    if clf is not None:
        def tip(result: dict) -> None:
            from clinaudio_gui.ui.learn_jobs import model_text
            text = f"suggestions made by model {model_text(result)}" if result.get("model") else ""
            for w in (getattr(main_window, "sugg_label", None), getattr(main_window, "sugg_bar", None)):
                if w is not None:
                    w.setToolTip(text)
            track = getattr(getattr(main_window, "timeline", None), "sugg", None)
            if track is not None:
                track.setToolTip(text)
        clf.classified.connect(tip)

