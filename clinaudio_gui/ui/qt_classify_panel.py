"""Classify panel: run the detector (default) or the classifiers on the open recording, train, manage models.

* Detect (default): the bundled sound-event detector (or another detector package) finds the
  events with calibrated confidences and the record label with per-class probabilities, behind a
  signal-quality gate; a confidence slider hides suggestions below a threshold.
  With it, the user's own labels of the recording as the event head classifies them (qt_label_view).
* Classify with the older window classifiers: an event model (tasks 1-1 / 1-2: sliding-window events) and a record model (2-1 / 2-2:
  record label) run in a worker QThread; the result goes to ``main_window.add_suggestion_segments``
  as model suggestions (source="model", with confidence) that the user accepts or rejects there.
* Train...: a dialog running ``train_classifier`` in a worker QThread with a progress bar, a live
  loss / score curve and the validation confusion matrix at the end.
* Models...: every installed package with its manifest.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QThread, Signal, Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPlainTextEdit, QProgressBar, QPushButton,
                               QSlider, QSpinBox, QSplitter, QVBoxLayout, QWidget)

from clinaudio_gui.core.segment import Segment
from clinaudio_gui.engine.detector.scoring import gate_text, record_event_note
from clinaudio_gui.ui.learn_jobs import model_text, project_model
from clinaudio_gui.ui.qt_label_view import QtLabelView, model_view, user_label_spans

NONE_CHOICE = "(none)"
BUNDLED = "__bundled_detector__"
CLASSIFIERS = "__classifiers__"
_DETECTORS: dict = {}   # loaded detector packages, kept between runs (loading takes a second)
_RUNNING: set = set()  # worker threads kept alive until they finish


def installed_classifiers(root=None) -> list[tuple[Path, dict]]:
    from clinaudio_gui.engine.common.package import list_packages
    return [(p, m) for p, m in list_packages(root) if m.get("kind") == "classifier"]


def installed_detectors(root=None) -> list[tuple[Path, dict]]:
    from clinaudio_gui.engine.common.package import list_packages
    return [(p, m) for p, m in list_packages(root) if m.get("kind") == "detector"]


class QtClassifyWorker(QThread):
    """Loads the chosen models and classifies samples off the GUI thread."""

    done = Signal(dict)
    failed = Signal(str)

    def __init__(self, samples: np.ndarray, sample_rate_hz: int, event_model: str | None,
                 record_model: str | None, device: str = "auto", parent=None, *, detector: str | None = None,
                 recording: str | None = None, model_version: str | None = None, labels: list | None = None):
        super().__init__(parent)
        self.labels = list(labels or [])       # the user's (id, start_s, end_s, label), read on the GUI thread
        self.model_version = model_version     # the project's model version the detector package is
        self.samples, self.sr = samples, int(sample_rate_hz)
        self.event_model, self.record_model, self.device = event_model, record_model, device
        self.detector = detector
        self.recording = recording

    def run(self) -> None:
        try:
            import torch
            torch.set_num_threads(1)  # one window at a time: extra threads only oversubscribe small machines
            if self.detector:
                self.done.emit(self._detect())
                return
            from clinaudio_gui.engine.classifier.inference import Classifier
            out = {"events": [], "record_label": None, "record_confidence": None, "record_probabilities": {}}
            if self.event_model:
                clf = Classifier.load(self.event_model, device=self.device)
                r = clf.classify_recording(self.samples, self.sr)
                out["events"] = r["events"]
                out["event_task"] = clf.task
            if self.record_model:
                clf = Classifier.load(self.record_model, device=self.device)
                r = clf.classify_recording(self.samples, self.sr)
                out["record_label"] = r["record_label"]
                out["record_confidence"] = r["confidence"]
                out["record_probabilities"] = r["probabilities"]
                out["record_task"] = clf.task
            out["recording"] = self.recording
            self.done.emit(out)
        except Exception as e:  # reported in the panel, never raised on the GUI thread
            self.failed.emit(f"{type(e).__name__}: {e}")

    def _detect(self) -> dict:
        from clinaudio_gui.engine.detector.infer import load_detector
        det = _DETECTORS.get(self.detector)
        if det is None:
            det = load_detector(None if self.detector == BUNDLED else self.detector)
            _DETECTORS[self.detector] = det
        r = det.detect(self.samples, self.sr, with_frames=bool(self.labels), with_sequence=bool(self.labels))
        probs = {} if r["quality"] != "ok" else r["record_probabilities"]   # gated: the model was not asked
        label = r["record_label"]
        return {"events": r["events"], "record_label": label, "label_view": model_view(det, r, self.labels),
                "record_confidence": probs.get(label),
                "record_probabilities": probs, "quality": r["quality"], "model": r["model"],
                "recording": self.recording, "detector": True, "model_version": self.model_version,
                "model_dir": None if self.detector == BUNDLED else self.detector}


class QtRankWorker(QThread):
    """Runs the detector over a folder's recordings and reports each one's uncertainty."""

    progress = Signal(int, int)
    done = Signal(object)   # {Path: (uncertainty, reason)}: Path keys do not convert to a Qt map
    failed = Signal(str)

    def __init__(self, paths: list, detector: str, parent=None):
        super().__init__(parent)
        self.paths, self.detector = list(paths), detector
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        try:
            import torch
            torch.set_num_threads(1)
            from clinaudio_gui.core.errors import ClinAudioError
            from clinaudio_gui.engine.detector.infer import load_detector
            from clinaudio_gui.engine.detector.scoring import uncertainty
            det = _DETECTORS.get(self.detector) or load_detector(None if self.detector == BUNDLED else self.detector)
            _DETECTORS[self.detector] = det
            out = {}
            for i, p in enumerate(self.paths):
                if self._stop.is_set():
                    break
                try:
                    out[p] = uncertainty(det.detect_file(p))
                except (ClinAudioError, ValueError, OSError) as e:
                    out[p] = (0.0, f"unreadable: {e}")
                self.progress.emit(i + 1, len(self.paths))
            self.done.emit(out)
        except Exception as e:  # noqa: BLE001 - reported in the panel
            self.failed.emit(f"{type(e).__name__}: {e}")


def result_segments(result: dict) -> list[Segment]:
    return [Segment(float(e["start_s"]), float(e["end_s"]), str(e["label"]), source="model",
                    confidence=float(e["confidence"]), annotator="clinaudio-classifier",
                    note=f"model {model_text(result)}" if result.get("model") else "")
            for e in result.get("events", []) if float(e["end_s"]) > float(e["start_s"])]


def filter_by_confidence(result: dict, min_confidence: float) -> list[Segment]:
    return [s for s in result_segments(result) if (s.confidence or 0.0) >= min_confidence]


class QtClassifyPanel(QWidget):
    """Dock panel: model choice, Classify, Train..., Models..."""

    classified = Signal(dict)

    def __init__(self, main_window, parent=None):
        super().__init__(parent)
        self.main_window = main_window
        self.setObjectName("QtClassifyPanel")
        self._worker: QtClassifyWorker | None = None
        self.last_result: dict | None = None
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.detector_combo = QComboBox()
        self.detector_combo.setToolTip("the sound-event detector (default) or the older window classifiers")
        form.addRow("Model", self.detector_combo)
        self.event_combo = QComboBox()
        self.record_combo = QComboBox()
        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto", "cpu", "cuda"])
        form.addRow("Event model", self.event_combo)
        form.addRow("Record model", self.record_combo)
        form.addRow("Device", self.device_combo)
        lay.addLayout(form)
        self.classify_button = QPushButton("Classify")
        self.classify_button.setToolTip("Suggest events and a record label for the open recording")
        self.classify_button.clicked.connect(self.classify)
        lay.addWidget(self.classify_button)
        srow = QHBoxLayout()
        self.conf_slider = QSlider(Qt.Orientation.Horizontal)
        self.conf_slider.setRange(0, 95)
        self.conf_slider.setSingleStep(5)
        self.conf_slider.setValue(0)
        self.conf_slider.setToolTip("hide suggestions whose calibrated confidence is below this")
        self.conf_value = QLabel("min confidence 0.00")
        self.conf_slider.valueChanged.connect(self._on_threshold)
        srow.addWidget(self.conf_value)
        srow.addWidget(self.conf_slider, 1)
        lay.addLayout(srow)
        self.result_label = QLabel("Open a recording, then Detect.")
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.result_label)
        self.label_view = QtLabelView(main_window)   # the model's view of the user's own labels
        lay.addWidget(self.label_view, 1)
        self.rank_button = QPushButton("Rank folder by model uncertainty")
        self.rank_button.setToolTip("run the detector over every recording of the open folder and sort the "
                                    "dataset list so that labeling starts where the model is least sure")
        self.rank_button.clicked.connect(self.rank_folder)
        lay.addWidget(self.rank_button)
        row = QHBoxLayout()
        self.train_button = QPushButton("Train...")
        self.train_button.clicked.connect(self.open_training_dialog)
        self.models_button = QPushButton("Models...")
        self.models_button.clicked.connect(self.open_model_manager)
        row.addWidget(self.train_button)
        row.addWidget(self.models_button)
        lay.addLayout(row)
        lay.addStretch(1)
        self.refresh_models()
        sig = getattr(main_window, "recordingChanged", None)
        if sig is not None:
            sig.connect(self._on_recording_changed)

    # ---------------------------------------------------------------- models
    def refresh_models(self) -> None:
        self.detector_combo.clear()
        self.detector_combo.addItem("Detector (bundled)", BUNDLED)
        for path, man in installed_detectors():
            if path.name != "detector-sprsound":
                self.detector_combo.addItem(f"Detector {path.name}", str(path))
        self.detector_combo.addItem("Window classifiers (below)", CLASSIFIERS)
        if not getattr(self, "_sync_connected", False):
            self.detector_combo.currentIndexChanged.connect(self._sync_enabled)
            self._sync_connected = True
        self._sync_enabled()
        for combo, level, default in ((self.event_combo, "event", "1-2"), (self.record_combo, "record", "2-2")):
            combo.clear()
            combo.addItem(NONE_CHOICE, None)
            pick = 0
            for path, man in installed_classifiers():
                if man.get("level") != level:
                    continue
                score = man.get("validation", {}).get("score")
                text = f"{path.name} (task {man.get('task')}" + (f", score {score:.3f})" if score is not None else ")")
                combo.addItem(text, str(path))
                if man.get("task") == default:
                    pick = combo.count() - 1
            combo.setCurrentIndex(pick)

    def _sync_enabled(self, *_a) -> None:
        classic = self.detector_combo.currentData() == CLASSIFIERS
        self.event_combo.setEnabled(classic)
        self.record_combo.setEnabled(classic)
        self.classify_button.setText("Classify" if classic else "Detect")

    def _on_recording_changed(self, *args) -> None:
        self.last_result = None   # a result belongs to the recording it was made on
        self.label_view.clear()
        self.result_label.setText("Recording changed: Detect to get suggestions.")

    def _on_threshold(self, v: int) -> None:
        self.conf_value.setText(f"min confidence {v / 100:.2f}")
        r = self.last_result
        if r is None or not self._same_recording(r):
            return
        self.main_window.add_suggestion_segments(filter_by_confidence(r, v / 100), record_label=r.get("record_label"),
                                                 record_confidence=r.get("record_confidence"))

    def _same_recording(self, r: dict) -> bool:
        rec = self.main_window.current_recording()
        return rec is not None and str(getattr(rec, "path", "")) == str(r.get("recording"))

    @staticmethod
    def project_detector(det, path) -> tuple:
        """(detector, version): the folder project's model in use (Model in the loop) in place of
        the bundled detector, for that folder's recordings; anything else chosen stays as it is."""
        if det != BUNDLED:
            return det, None
        pm = project_model(path)
        return (BUNDLED, None) if pm is None else (str(pm[1]), pm[0])

    # ---------------------------------------------------------------- classify
    def classify(self) -> bool:
        rec = self.main_window.current_recording()
        if rec is None:
            self.result_label.setText("No recording open.")
            return False
        if self._worker is not None and self._worker.isRunning():
            return False
        det = self.detector_combo.currentData()
        ev, rc = self.event_combo.currentData(), self.record_combo.currentData()
        if det == CLASSIFIERS:
            det = None
        det, version = self.project_detector(det, getattr(rec, "path", None))
        if not det and not ev and not rc:
            self.result_label.setText("Choose an event model and/or a record model.")
            return False
        samples = rec.read(0.0, None)
        labels = user_label_spans(getattr(self.main_window, "current_annotations", lambda: None)()) if det else []
        self.label_view.clear()
        self.classify_button.setEnabled(False)
        self.result_label.setText(f"{'Detecting' if det else 'Classifying'} {rec.name} ...")
        # no Qt parent + a module-level reference: closing the panel mid-run never destroys a running thread
        self._worker = QtClassifyWorker(samples, rec.sample_rate_hz, None if det else ev, None if det else rc,
                                        self.device_combo.currentText(), detector=det,
                                        recording=str(getattr(rec, "path", "")), model_version=version,
                                        labels=labels)
        _RUNNING.add(self._worker)
        self._worker.finished.connect(lambda w=self._worker: _RUNNING.discard(w))
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._worker.start()
        return True

    def _join_worker(self) -> None:
        # the result signal is the worker's last act; wait for run() to return so the QThread
        # is never destroyed while still running (Qt aborts the process if it is)
        if self._worker is not None:
            self._worker.wait(5000)

    def _on_done(self, result: dict) -> None:
        self._join_worker()
        self.classify_button.setEnabled(True)
        if not self._same_recording(result):   # the user moved on while it ran: never label the wrong recording
            self.result_label.setText("Recording changed while the model ran: its result was dropped.")
            return
        self.last_result = result
        self.label_view.set_rows(result.get("label_view") or [])
        segs = filter_by_confidence(result, self.conf_slider.value() / 100)
        self.main_window.add_suggestion_segments(segs, record_label=result.get("record_label"),
                                                 record_confidence=result.get("record_confidence"))
        n_adv = sum(1 for s in segs if s.label != "Normal")
        text = f"{len(segs)} event suggestion(s), {n_adv} adventitious."
        if result.get("quality") not in (None, "ok"):
            text = gate_text(result["quality"])
        if result.get("record_label"):
            conf = result.get("record_confidence")
            text += f" Record: <b>{result['record_label']}</b>" + (f" ({conf:.2f})." if conf is not None else ".")
            text += f"<br><i>{n}</i>" if result.get("detector") and (n := record_event_note(result)) else ""
        probs = result.get("record_probabilities") or {}
        if probs:
            text += "<br>" + " &middot; ".join(f"{k} {v:.2f}" for k, v in probs.items())
        if result.get("model"):
            text += f"<br><small>model {model_text(result)}</small>"
        self.result_label.setText(text)  # the main window's status bar reports the suggestions itself
        self.classified.emit(result)

    def _on_failed(self, msg: str) -> None:
        self._join_worker()
        self.classify_button.setEnabled(True)
        self.result_label.setText("Classification failed: " + msg)

    # ---------------------------------------------------------------- uncertainty ranking
    def rank_folder(self) -> bool:
        ds = getattr(self.main_window, "dataset", None)
        paths = ds.paths() if ds is not None else []
        if not paths:
            self.result_label.setText("Open a folder first: ranking orders its recordings.")
            return False
        if getattr(self, "_rank_worker", None) is not None and self._rank_worker.isRunning():
            self._rank_worker.stop()
            return False
        det = self.detector_combo.currentData()
        det = BUNDLED if det in (None, CLASSIFIERS) else det
        det, _v = self.project_detector(det, paths[0])
        w = QtRankWorker(paths, det)
        _RUNNING.add(w)
        w.finished.connect(lambda w=w: _RUNNING.discard(w))
        w.progress.connect(lambda i, n: self.rank_button.setText(f"Ranking {i}/{n}... (click to stop)"))
        w.done.connect(self._on_ranked)
        w.failed.connect(lambda m: (self.rank_button.setText("Rank folder by model uncertainty"),
                                    self.result_label.setText("Ranking failed: " + m)))
        self._rank_worker = w
        w.start()
        return True

    def _on_ranked(self, values: dict) -> None:
        if self._rank_worker is not None:
            self._rank_worker.wait(5000)
        self.rank_button.setText("Rank folder by model uncertainty")
        self.main_window.dataset.set_uncertainty(values)
        self.result_label.setText(f"Ranked {len(values)} recording(s): the most uncertain first "
                                  "(column 'unsure'; the reason is in each row's tooltip).")

    # ---------------------------------------------------------------- dialogs
    def open_training_dialog(self) -> "QtTrainDialog":
        dlg = QtTrainDialog(self)
        dlg.finishedTraining.connect(lambda _p: self.refresh_models())
        dlg.show()
        self._train_dialog = dlg
        return dlg

    def open_model_manager(self) -> "QtModelManager":
        dlg = QtModelManager(self)
        dlg.show()
        self._model_dialog = dlg
        return dlg


class QtTrainWorker(QThread):
    progress = Signal(dict)
    message = Signal(str)
    done = Signal(str)
    failed = Signal(str)

    def __init__(self, kwargs: dict, parent=None):
        super().__init__(parent)
        self.kwargs = kwargs
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        try:
            import torch
            from clinaudio_gui.engine.classifier.train import train_classifier
            torch.set_num_threads(max(1, (torch.get_num_threads() or 2) - 1))
            out = train_classifier(**self.kwargs, progress=self.progress.emit, log=self.message.emit,
                                   should_stop=self._stop.is_set)
            self.done.emit(str(out))
        except Exception as e:
            self.failed.emit(f"{type(e).__name__}: {e}")


class QtTrainDialog(QDialog):
    """Settings, progress, live loss / score curves, and the confusion matrix at the end."""

    finishedTraining = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Train a respiratory classifier")
        self.resize(760, 620)
        self.worker: QtTrainWorker | None = None
        self.history: list[dict] = []
        self.last_progress: dict | None = None
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.task_combo = QComboBox()
        self.task_combo.addItems(["1-1", "1-2", "2-1", "2-2"])
        self.data_edit = QLineEdit(str(Path.cwd().parent / "shared" / "data" / "sprsound" / "train"))
        browse = QPushButton("...")
        browse.clicked.connect(self._browse_data)
        drow = QHBoxLayout(); drow.addWidget(self.data_edit); drow.addWidget(browse)
        self.out_edit = QLineEdit(str(Path.cwd() / "runs" / "gui-model"))
        self.epochs_spin = QSpinBox(); self.epochs_spin.setRange(1, 500); self.epochs_spin.setValue(10)
        self.augment_edit = QLineEdit(); self.augment_edit.setPlaceholderText("recipe name or JSON (optional), e.g. naa")
        self.device_combo = QComboBox(); self.device_combo.addItems(["auto", "cpu", "cuda"])
        form.addRow("Task", self.task_combo)
        form.addRow("Data folder", drow)
        form.addRow("Output package", self.out_edit)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Augment", self.augment_edit)
        form.addRow("Device", self.device_combo)
        lay.addLayout(form)
        brow = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        brow.addWidget(self.start_button); brow.addWidget(self.stop_button)
        lay.addLayout(brow)
        self.progress_bar = QProgressBar()
        lay.addWidget(self.progress_bar)
        split = QSplitter(Qt.Horizontal)
        self.curve_plot = pg.PlotWidget(title="loss / validation score")
        self.curve_plot.addLegend()
        self.curve_plot.setLabel("bottom", "epoch")
        self.train_curve = self.curve_plot.plot([], [], pen=pg.mkPen("c", width=2), name="train loss")
        self.val_curve = self.curve_plot.plot([], [], pen=pg.mkPen("y", width=2), name="val loss")
        self.score_curve = self.curve_plot.plot([], [], pen=pg.mkPen("g", width=2), symbol="o", symbolSize=5,
                                                name="val score")
        self.confusion_plot = pg.PlotWidget(title="validation confusion (rows true)")
        self.confusion_plot.invertY(True)
        self.confusion_image = pg.ImageItem()
        self.confusion_plot.addItem(self.confusion_image)
        self._confusion_texts: list = []
        split.addWidget(self.curve_plot); split.addWidget(self.confusion_plot)
        lay.addWidget(split, 1)
        self.log_view = QPlainTextEdit(); self.log_view.setReadOnly(True); self.log_view.setMaximumBlockCount(2000)
        self.log_view.setMaximumHeight(130)
        lay.addWidget(self.log_view)

    def _browse_data(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Folder of recordings + SPRSound JSON", self.data_edit.text())
        if d:
            self.data_edit.setText(d)

    def start(self, **extra) -> None:
        """Start training; extra keyword arguments go to train_classifier (tests use max_items...)."""
        if self.worker is not None and self.worker.isRunning():
            return
        self.history.clear()
        kwargs = dict(task=self.task_combo.currentText(), data_dir=self.data_edit.text(),
                      out_dir=self.out_edit.text(), epochs=self.epochs_spin.value(),
                      device=self.device_combo.currentText(), augment=self.augment_edit.text().strip() or None,
                      command="clinaudio-gui training dialog")
        kwargs.update(extra)
        self.progress_bar.setRange(0, kwargs["epochs"])
        self.progress_bar.setValue(0)
        self.worker = QtTrainWorker(kwargs, self)
        self.worker.progress.connect(self._on_progress)
        self.worker.message.connect(self.log_view.appendPlainText)
        self.worker.done.connect(self._on_done)
        self.worker.failed.connect(self._on_failed)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.worker.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.log_view.appendPlainText("stopping after this batch ...")

    def closeEvent(self, event) -> None:
        if self.worker is not None and self.worker.isRunning():
            self.worker.stop()
            self.worker.wait()
        super().closeEvent(event)

    def _on_progress(self, rec: dict) -> None:
        self.history.append(rec)
        self.last_progress = rec
        ep = [r["epoch"] for r in self.history]
        self.train_curve.setData(ep, [r["train_loss"] for r in self.history])
        self.val_curve.setData(ep, [r["val_loss"] for r in self.history])
        self.score_curve.setData(ep, [r["score"] for r in self.history])
        self.progress_bar.setValue(int(rec["epoch"]))

    def show_confusion(self, confusion, labels) -> None:
        cm = np.asarray(confusion, dtype=np.float64)
        norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        self.confusion_image.setImage(norm.T, levels=(0, 1))  # ImageItem is (x=column, y=row)
        self.confusion_image.setColorMap(pg.colormap.get("viridis"))
        for t in self._confusion_texts:
            self.confusion_plot.removeItem(t)
        self._confusion_texts = []
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                t = pg.TextItem(str(int(cm[i, j])), color="w" if norm[i, j] < 0.5 else "k", anchor=(0.5, 0.5))
                t.setPos(j + 0.5, i + 0.5)
                self.confusion_plot.addItem(t)
                self._confusion_texts.append(t)
        ticks = [(k + 0.5, lab) for k, lab in enumerate(labels)]
        self.confusion_plot.getAxis("left").setTicks([ticks])
        self.confusion_plot.getAxis("bottom").setTicks([ticks])

    def _on_done(self, out_dir: str) -> None:
        if self.worker is not None:
            self.worker.wait(5000)  # run() returns right after this signal; never destroy it running
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        try:
            man = json.loads((Path(out_dir) / "manifest.json").read_text())
            v = man["validation"]
            self.show_confusion(v["confusion"], v["labels"])
            self.log_view.appendPlainText(f"done: {out_dir}  best score {v['score']:.4f} "
                                          f"(epoch {man['training']['best_epoch']})")
        except (OSError, KeyError, ValueError) as e:
            self.log_view.appendPlainText(f"done: {out_dir} (manifest unreadable: {e})")
        self.finishedTraining.emit(out_dir)

    def _on_failed(self, msg: str) -> None:
        if self.worker is not None:
            self.worker.wait(5000)
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.log_view.appendPlainText("training failed: " + msg)


class QtModelManager(QDialog):
    """Installed classifier packages (models/ or $CLINAUDIO_MODELS) and their manifests."""

    def __init__(self, parent=None, root=None):
        super().__init__(parent)
        self.setWindowTitle("Installed models")
        self.resize(720, 480)
        self.root = root
        lay = QHBoxLayout(self)
        self.list = QListWidget()
        self.text = QPlainTextEdit(); self.text.setReadOnly(True)
        lay.addWidget(self.list, 1); lay.addWidget(self.text, 2)
        self.list.currentItemChanged.connect(self._show)
        self.refresh()

    def refresh(self) -> None:
        from clinaudio_gui.engine.common.package import list_packages
        self.list.clear()
        for path, man in list_packages(self.root):
            score = man.get("validation", {}).get("score")
            it = QListWidgetItem(f"{path.name}  [{man.get('kind')}{', task ' + man['task'] if 'task' in man else ''}"
                                 + (f", score {score:.3f}]" if score is not None else "]"))
            shown = {k: v for k, v in man.items() if k != "history"}
            it.setData(Qt.UserRole, json.dumps(shown, indent=2, ensure_ascii=False))
            self.list.addItem(it)
        if self.list.count():
            self.list.setCurrentRow(0)

    def _show(self, cur, _prev=None) -> None:
        self.text.setPlainText(cur.data(Qt.UserRole) if cur is not None else "")
