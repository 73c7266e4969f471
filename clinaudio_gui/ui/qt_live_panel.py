"""Live panel: classify a microphone / digital stethoscope as it streams.

The audio path follows friture: the PortAudio callback only fills a ring buffer
(``clinaudio_gui.live``); this panel pulls from its own ring reader on a QTimer, draws the
rolling waveform and spectrogram (fixed levels, no auto-levelling per frame), the level meter
with a clip lamp, and the predictions that the session's worker thread produces. The model is
loaded off the GUI thread. The achieved frame rate and the end-to-end latency (window's last
sample captured -> prediction shown here) are measured and displayed.
"""
from __future__ import annotations

import concurrent.futures as cf
import time
from collections import deque
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QApplication, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout,
                               QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout, QWidget)

from clinaudio_gui.live import LiveAudioError, LiveSession, list_input_devices
from clinaudio_gui.live.display import LiveDisplay
from clinaudio_gui.live.session import RECORD_MODEL_WINDOW_S

SETTINGS_DEVICE = "live/device"
SETTINGS_MODEL = "live/model"
SETTINGS_WINDOW = "live/window_s"
SETTINGS_HOP = "live/hop_s"
MONITOR_ONLY = "__monitor__"
MODEL_CHOICES = (("Detector: events + record label", "detector"),
                 ("Events, 7 classes (task 1-2)", "task:1-2"), ("Events, normal/adventitious (task 1-1)", "task:1-1"),
                 ("Record, 5 classes (task 2-2)", "task:2-2"), ("Record, 3 classes (task 2-1)", "task:2-1"),
                 ("No model (monitor only)", MONITOR_ONLY))
SPEC_LEVELS_DB = (-90.0, -10.0)   # fixed levels: auto-levelling every frame makes the image pump
TIMER_INTERVAL_MS = 25            # asks for 40 fps so that >= 30 are achieved on a loaded machine
TIMELINE_S = 30.0
DISPLAY_HISTORY_S = 8.0           # rolling waveform / spectrogram width (8 s x 16 ms hop = 500 columns)
LABEL_COLOURS = ("#4caf50", "#e91e63", "#2196f3", "#ff9800", "#9c27b0", "#00bcd4", "#cddc39", "#795548")


def _settings() -> QSettings:
    return QSettings("ClinAudio", "clinaudio-gui")


def _load_classifier(choice: str):
    """Runs in a worker thread: torch import + model load take seconds."""
    from clinaudio_gui.engine.detector.stream import load_live_model
    return load_live_model(choice)


class QtLivePanel(QWidget):
    def __init__(self, main_window=None, parent=None):
        super().__init__(parent)
        self.mw = main_window
        self._qs = _settings()
        self.session: LiveSession | None = None
        self.display: LiveDisplay | None = None
        self.classifier = None
        self._classifier_choice: str | None = None
        self._pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="clinaudio-live-load")
        self._loading: cf.Future | None = None
        self._pending_start = False
        self._seen = 0
        self._frame_times: deque[float] = deque(maxlen=240)
        self.fps = 0.0
        self.shown_latencies_ms: list[float] = []
        self.last_saved: Path | None = None
        self._torch_threads = 0
        self._ticks = 0
        self._wave_span = 1.0
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(TIMER_INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self.refresh_devices()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        form = QFormLayout()
        row = QHBoxLayout()
        self.device_box = QComboBox()
        self.device_box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.device_box.activated.connect(self._device_chosen)
        self.refresh_btn = QPushButton("Rescan")
        self.refresh_btn.setToolTip("re-read the list of input devices (after plugging one in)")
        self.refresh_btn.clicked.connect(lambda: self.refresh_devices(rescan=True))
        row.addWidget(self.device_box, 1)
        row.addWidget(self.refresh_btn)
        form.addRow("Input", row)
        self.model_box = QComboBox()
        for box in (self.device_box, self.model_box):  # long names must not widen the dock
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(12)
        for text, data in MODEL_CHOICES:
            self.model_box.addItem(text, data)
        self.model_box.addItem("Model folder...", "__browse__")
        saved = str(self._qs.value(SETTINGS_MODEL, "detector"))
        i = self.model_box.findData(saved)
        if i < 0 and saved and Path(saved).is_dir():
            self.model_box.insertItem(0, Path(saved).name, saved)
            i = 0
        self.model_box.setCurrentIndex(max(0, i))
        self.model_box.activated.connect(self._model_chosen)
        form.addRow("Model", self.model_box)
        wrow = QHBoxLayout()
        self.window_spin = QDoubleSpinBox()
        self.window_spin.setRange(0.0, 30.0)
        self.window_spin.setSingleStep(0.5)
        self.window_spin.setSpecialValueText("model's")
        self.window_spin.setSuffix(" s")
        self.window_spin.setValue(float(self._qs.value(SETTINGS_WINDOW, 0.0)))
        self.hop_spin = QDoubleSpinBox()
        self.hop_spin.setRange(0.05, 10.0)
        self.hop_spin.setSingleStep(0.25)
        self.hop_spin.setSuffix(" s")
        self.hop_spin.setValue(float(self._qs.value(SETTINGS_HOP, 0.5)))
        self.window_spin.setToolTip("window length; 'model's' = the model's own window")
        self.hop_spin.setToolTip("hop between windows")
        wrow.addWidget(self.window_spin)
        wrow.addWidget(QLabel("every"))
        wrow.addWidget(self.hop_spin)
        form.addRow("Window", wrow)
        lay.addLayout(form)

        brow = QHBoxLayout()
        self.start_btn = QPushButton("Start")
        self.start_btn.clicked.connect(self.toggle)
        self.record_btn = QPushButton("Keep as recording")
        self.record_btn.setToolTip("save this session's audio and predictions as a new recording "
                                   "of the open project, to be labeled like any other")
        self.record_btn.clicked.connect(lambda: self.keep_as_recording())
        self.record_btn.setEnabled(False)
        brow.addWidget(self.start_btn)
        brow.addWidget(self.record_btn)
        lay.addLayout(brow)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)

        big = QFont()
        big.setPointSize(16)
        big.setBold(True)
        self.label_now = QLabel("-")
        self.label_now.setFont(big)
        self.label_now.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label_now.setWordWrap(True)
        lay.addWidget(self.label_now)
        grid = QGridLayout()
        self.verdict_label = QLabel("verdict: -")
        self.latency_label = QLabel("latency: -")
        for w in (self.verdict_label, self.latency_label):
            w.setWordWrap(True)
        self.overrun_label = QLabel("overruns: 0")
        self.fps_label = QLabel("display: - fps")
        grid.addWidget(self.verdict_label, 0, 0, 1, 2)
        grid.addWidget(self.latency_label, 1, 0, 1, 2)
        grid.addWidget(self.overrun_label, 2, 0)
        grid.addWidget(self.fps_label, 2, 1)
        self.events_label = QLabel("events: -")   # the streaming detector's events, onset and offset
        self.events_label.setWordWrap(True)
        self.events_label.setToolTip("events found so far by the streaming detector (newest last)")
        grid.addWidget(self.events_label, 3, 0, 1, 2)
        lrow = QHBoxLayout()
        self.level_bar = QProgressBar()
        self.level_bar.setRange(-60, 0)  # dBFS
        self.level_bar.setTextVisible(False)  # text makes every value change a costly repaint
        self.level_text = QLabel("- dBFS")
        self.level_text.setFixedWidth(70)
        self.level_bar.setValue(self.level_bar.minimum())
        self.clip_lamp = QLabel("CLIP")
        self.clip_lamp.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.clip_lamp.setFixedWidth(44)
        self._set_clip(False)
        lrow.addWidget(self.level_bar, 1)
        lrow.addWidget(self.level_text)
        lrow.addWidget(self.clip_lamp)
        grid.addLayout(lrow, 4, 0, 1, 2)   # below the events line (row 3), not over it
        lay.addLayout(grid)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setMinimumHeight(360)
        self.plots.setMinimumWidth(240)
        self.wave_plot = self.plots.addPlot(row=0, col=0)
        self.wave_plot.setYRange(-1, 1)
        self.wave_plot.setMouseEnabled(x=False, y=True)
        self.wave_plot.setLabel("left", "amplitude")
        # a bare PlotCurveItem: PlotDataItem goes through arrayToQPath, which with PySide6 6.12
        # intermittently corrupts a refcount and aborts the interpreter at exit
        self.wave_curve = pg.PlotCurveItem(pen=pg.mkPen("#80cbc4", width=1), skipFiniteCheck=True)
        self.wave_plot.addItem(self.wave_curve)
        self.spec_plot = self.plots.addPlot(row=1, col=0)
        self.spec_plot.setMouseEnabled(x=False, y=False)
        self.spec_plot.setLabel("left", "Hz")
        self.spec_img = pg.ImageItem(axisOrder="row-major")
        self.spec_img.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        self.spec_plot.addItem(self.spec_img)
        self.time_plot = self.plots.addPlot(row=2, col=0)
        self.time_plot.setMouseEnabled(x=False, y=False)
        self.time_plot.setLabel("bottom", "s (0 = now)")
        self.time_plot.setMaximumHeight(110)
        self.time_plot.setXRange(-TIMELINE_S, 0, padding=0)
        self.time_bars = pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[])
        self.time_plot.addItem(self.time_bars)
        self.wave_plot.setXLink(self.spec_plot)
        self.plots.ci.layout.setRowStretchFactor(0, 2)
        self.plots.ci.layout.setRowStretchFactor(1, 3)
        self.plots.ci.layout.setRowStretchFactor(2, 1)
        lay.addWidget(self.plots, 1)
        self.legend = QLabel("")
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.legend)

    def _set_clip(self, on: bool) -> None:
        self.clipping_shown = on
        self.clip_lamp.setStyleSheet("background:#d32f2f; color:white; font-weight:bold" if on
                                     else "background:#424242; color:#9e9e9e")

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color:#ef5350" if error else "")
        if self.mw is not None and hasattr(self.mw, "status"):
            self.mw.status(("live: " if not text.startswith("live") else "") + text)

    # ------------------------------------------------------------------ devices / model
    def refresh_devices(self, *, rescan: bool = False) -> None:
        if self.session is not None and self.session.running and rescan:
            self._say("stop the live session before rescanning devices")
            return
        self.device_box.clear()
        try:
            devices = list_input_devices(rescan=rescan)
        except LiveAudioError as e:
            self.device_box.addItem("(audio input unavailable)", None)
            self.start_btn.setEnabled(False)
            self._say(str(e), error=True)
            return
        if not devices:
            self.device_box.addItem("(no input device)", None)
            self.start_btn.setEnabled(False)
            self._say("no audio input device found: connect a microphone or stethoscope, then Rescan",
                      error=True)
            return
        self.start_btn.setEnabled(True)
        for d in devices:
            self.device_box.addItem(d.label + ("  [default]" if d.is_default else ""), d.name)
        saved = self._qs.value(SETTINGS_DEVICE)
        i = self.device_box.findData(saved) if saved else -1
        if i < 0:
            i = next((k for k, d in enumerate(devices) if d.is_default), 0)
        self.device_box.setCurrentIndex(i)

    def _device_chosen(self, _i: int) -> None:
        name = self.device_box.currentData()
        if name:
            self._qs.setValue(SETTINGS_DEVICE, name)

    def select_device(self, name: str) -> None:
        """Choose an input device by name (as the user would) and remember it."""
        i = self.device_box.findData(name)
        if i < 0:
            raise LiveAudioError(f"no input device named {name!r} in the list")
        self.device_box.setCurrentIndex(i)
        self._device_chosen(i)

    def _model_chosen(self, _i: int) -> None:
        data = self.model_box.currentData()
        if data == "__browse__":
            d = QFileDialog.getExistingDirectory(self, "Classifier package folder", str(Path.home()))
            if not d:
                self.model_box.setCurrentIndex(0)
                return
            self.model_box.insertItem(0, Path(d).name, d)
            self.model_box.setCurrentIndex(0)
            data = d
        self._qs.setValue(SETTINGS_MODEL, data)

    def set_model_choice(self, choice: str) -> None:
        """'task:1-2', a package folder, or MONITOR_ONLY."""
        i = self.model_box.findData(choice)
        if i < 0:
            self.model_box.insertItem(0, Path(choice).name, choice)
            i = 0
        self.model_box.setCurrentIndex(i)
        self._qs.setValue(SETTINGS_MODEL, choice)

    # ------------------------------------------------------------------ start / stop
    @property
    def running(self) -> bool:
        return self.session is not None and self.session.running

    def toggle(self) -> None:
        if self.running or self._pending_start:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        choice = self.model_box.currentData()
        if choice in (None, "__browse__"):
            choice = "detector"
        self._qs.setValue(SETTINGS_WINDOW, self.window_spin.value())
        self._qs.setValue(SETTINGS_HOP, self.hop_spin.value())
        if choice == MONITOR_ONLY:
            self.classifier, self._classifier_choice = None, MONITOR_ONLY
            self._open_stream()
            return
        if self.classifier is not None and self._classifier_choice == choice:
            self._open_stream()
            return
        self._pending_start = True
        self.start_btn.setText("Cancel")
        self._say("loading the model...")
        self._classifier_choice = choice
        self._loading = self._pool.submit(_load_classifier, choice)
        self._timer.start()  # polls the loader

    def _open_stream(self) -> None:
        self._pending_start = False
        device = self.device_box.currentData()
        clf = None if self._classifier_choice == MONITOR_ONLY else self.classifier
        window = self.window_spin.value() or None
        if clf is not None and window is None and not clf.window_s:
            window = RECORD_MODEL_WINDOW_S
        try:
            session = LiveSession(clf, device=device, window_s=window, hop_s=self.hop_spin.value())
            session.start()
        except (LiveAudioError, ValueError) as e:
            self._say(str(e), error=True)
            self.start_btn.setText("Start")
            self._timer.stop()
            return
        self.session = session
        if clf is not None:  # one window at a time is fastest with 1 thread; restored on stop
            import torch
            self._torch_threads = torch.get_num_threads()
            torch.set_num_threads(1)
        cap = session.capture
        self.display = LiveDisplay(session.reader(), capture_rate_hz=cap.capture_rate_hz,
                                   display_rate_hz=session.sample_rate_hz, history_s=DISPLAY_HISTORY_S,
                                   n_fft=256, hop=128)
        sp = self.display.spectrogram
        self.spec_img.setImage(sp.image(), autoLevels=False, levels=SPEC_LEVELS_DB)
        self.spec_img.setRect(pg.QtCore.QRectF(-sp.history_s, 0.0, sp.history_s,
                                               float(sp.freqs_hz[-1])))
        self.spec_plot.setXRange(-sp.history_s, 0, padding=0)
        self.spec_plot.setYRange(0, float(sp.freqs_hz[-1]), padding=0)
        self._seen = 0
        self.legend.setText("")
        self._frame_times.clear()
        self.shown_latencies_ms = []
        self.label_now.setText("listening..." if clf is not None else "monitor only")
        self.record_btn.setEnabled(False)
        self.start_btn.setText("Stop")
        what = f"model {getattr(clf, 'task', '?')}, window {session.window_s:g} s, hop {session.hop_s:g} s" \
            if clf is not None else "no model"
        self._say(f"live: {cap.device.name} at {cap.capture_rate_hz} Hz -> {session.sample_rate_hz} Hz; {what}")
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()  # first: the final _tick below must not re-enter stop()
        self._pending_start = False
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        self._loading = None
        s = self.session
        if s is not None:
            s.stop()
            self._tick()  # show what arrived last
            if s.error:
                self._say(s.error, error=True)
            else:
                st = s.latency_stats()
                self._say(f"stopped after {s.duration_s:.1f} s, {st['n']} predictions, "
                          f"{s.overruns} overruns")
            self.record_btn.setEnabled(s.duration_s > 0)
        if self._torch_threads:
            import torch
            torch.set_num_threads(self._torch_threads)
            self._torch_threads = 0
        self.start_btn.setText("Start")

    def shutdown(self) -> None:
        """Release the device and the loader thread (app quitting or panel closing)."""
        try:
            self.stop()
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def closeEvent(self, ev):
        self.shutdown()
        super().closeEvent(ev)

    # ------------------------------------------------------------------ the timer
    def _tick(self) -> None:
        if self._pending_start:
            fut = self._loading
            if fut is None or not fut.done():
                return
            self._loading = None
            try:
                self.classifier = fut.result()
            except Exception as e:  # noqa: BLE001 - a missing / broken model is a message
                self._pending_start = False
                self.classifier = None
                self._classifier_choice = None
                self.start_btn.setText("Start")
                self._timer.stop()
                self._say(f"cannot load the model: {e}", error=True)
                return
            self._open_stream()
            return
        s, d = self.session, self.display
        if s is None or d is None:
            return
        now = time.monotonic()
        d.update()
        t, v = d.waveform_envelope()
        self.wave_curve.setData(t, v)
        if self._ticks % 20 == 0:  # quiet chest sounds: zoom the amplitude axis, twice a second
            peak = float(np.abs(v).max()) if len(v) else 0.0
            span = min(1.0, max(0.02, 1.15 * peak))
            if abs(span - self._wave_span) > 0.1 * self._wave_span:
                self._wave_span = span
                self.wave_plot.setYRange(-span, span, padding=0)
        self.spec_img.setImage(d.spectrogram.image(), autoLevels=False, levels=SPEC_LEVELS_DB)
        self._ticks += 1
        if self._ticks % 3 == 0:  # a meter needs ~13 updates/s, not 40: QProgressBar repaints are dear
            lvl = int(max(self.level_bar.minimum(), min(0.0, d.level.peak_db)))
            if lvl != self.level_bar.value():
                self.level_bar.setValue(lvl)
                self.level_text.setText(f"{d.level.peak_db:5.0f} dBFS")
        clip = d.level.clipping(now)
        if clip != getattr(self, "clipping_shown", None):
            self._set_clip(clip)
        self.overrun_label.setText(f"overruns: {s.overruns + d.overruns}")
        self._show_predictions(s)
        if not s.running:  # the session ended: by Stop, or by itself (device gone, model failed)
            if s.error and self._timer.isActive():
                self.stop()  # releases the device and shows the error
            return
        self._frame_times.append(now)
        ft = [x for x in self._frame_times if now - x <= 1.0]
        if len(ft) >= 2:
            self.fps = (len(ft) - 1) / (ft[-1] - ft[0])
            self.fps_label.setText(f"display: {self.fps:.0f} fps")

    def _show_predictions(self, s: LiveSession) -> None:
        new = s.predictions_since(self._seen)
        if not new:
            return
        self._seen += len(new)
        shown = time.monotonic()
        if s.running:  # after Stop, the last ones are shown late on purpose: not a latency
            for p in new:
                self.shown_latencies_ms.append((shown - p.captured_at) * 1000.0)
        last = new[-1]
        # a window or verdict without probabilities is the quality gate's ("no signal", "no breathing
        # cycle found"): no model was asked, so no confidence is shown beside it
        self.label_now.setText(f"{last.label}  {last.confidence:.2f}" if last.probs else last.label)
        label, conf, probs = s.verdict()
        gate = not probs and getattr(s.classifier, "streaming", False)
        self.verdict_label.setText(f"verdict so far: {label}" + ("" if gate else f" ({conf:.2f})")
                                   + f" from {self._seen} windows")
        if getattr(s.classifier, "streaming", False):
            evs = s.classifier.events
            adv = [e for e in evs if e["label"] != "Normal"]
            tail = "; ".join(f"{e['label']} {e['start_s']:.1f}-{e['end_s']:.1f} s ({e['confidence']:.2f})"
                             for e in evs[-4:])
            self.events_label.setText(f"events: {len(evs)} ({len(adv)} adventitious)" + (f": {tail}" if tail else ""))
        lat = np.asarray(self.shown_latencies_ms)
        if len(lat):
            self.latency_label.setText(f"latency (captured -> shown): last {lat[-1]:.0f} ms, "
                                       f"p50 {np.percentile(lat, 50):.0f} ms, p95 {np.percentile(lat, 95):.0f} ms")
        preds = s.predictions_since(max(0, self._seen - int(TIMELINE_S / max(s.hop_s, 1e-3)) - 2))
        labels = list(getattr(s.classifier, "labels", []) or sorted({p.label for p in preds}))
        now_s = s.duration_s
        x0, x1, y0, y1, brushes = [], [], [], [], []
        for i, p in enumerate(preds):
            k = labels.index(p.label) if p.label in labels else 0
            a = p.end_s - s.hop_s if i else p.start_s
            x0.append(max(a, p.start_s) - now_s)
            x1.append(p.end_s - now_s)
            y0.append(0.0)
            y1.append(max(0.05, p.confidence))
            brushes.append(pg.mkBrush(QColor(LABEL_COLOURS[k % len(LABEL_COLOURS)])))
        self.time_bars.setOpts(x0=x0, x1=x1, y0=y0, y1=y1, brushes=brushes)
        self.time_plot.setYRange(0, 1, padding=0.05)
        if not self.legend.text():
            self.legend.setText("  ".join(f'<span style="color:{LABEL_COLOURS[k % len(LABEL_COLOURS)]}">'
                                          f"&#9632;</span> {lab}" for k, lab in enumerate(labels)))

    # ------------------------------------------------------------------ keep as a recording
    def keep_as_recording(self, folder: str | Path | None = None) -> Path | None:
        """Save the session's audio + predictions into the open project (or ``folder``), open it,
        and put the predictions on the suggestion track to be accepted or rejected."""
        s = self.session
        if s is None or s.duration_s <= 0:
            self._say("nothing recorded yet", error=True)
            return None
        if folder is None:
            proj = self.mw.project() if self.mw is not None and hasattr(self.mw, "project") else None
            if proj is not None:
                folder = Path(proj.folder)
            else:
                d = QFileDialog.getExistingDirectory(self, "Folder for the live recording", str(Path.home()))
                if not d:
                    return None
                folder = Path(d)
        folder = Path(folder)
        stamp = time.strftime("%Y%m%d_%H%M%S")
        path = folder / f"live_{stamp}.flac"
        k = 1
        while path.exists():
            path = folder / f"live_{stamp}_{k}.flac"
            k += 1
        try:
            audio_path, side = s.save_recording(path)
        except Exception as e:  # noqa: BLE001 - disk full, read-only folder: say so, keep the session
            self._say(f"could not save the live recording: {e}", error=True)
            return None
        self.last_saved = audio_path
        sugg = s.suggestions()
        if self.mw is not None:
            proj = self.mw.project() if hasattr(self.mw, "project") else None
            if proj is not None and Path(proj.folder).resolve() == folder.resolve():
                self.mw.open_path(folder)  # re-reads the project's file list, which now has it
            if self.mw.open_path(audio_path) and (sugg.segments or sugg.record_label):
                self.mw.add_suggestion_segments(
                    list(sugg.segments), record_label=sugg.record_label,
                    record_confidence=sugg.metadata.get("verdict_confidence") if sugg.record_label else None)
        self._say(f"kept {audio_path.name} ({s.duration_s:.1f} s, {len(sugg.segments)} suggested "
                  f"segment(s)); predictions in {side.name}")
        return audio_path
