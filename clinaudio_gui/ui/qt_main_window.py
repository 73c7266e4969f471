"""The main window: dataset, timeline (waveform + spectrogram), segments, settings, playback, panels.

Its jobs are split over mixins: ``qt_main_actions`` (actions, menus, toolbar), ``qt_main_files``
(opening, saving, import / export, recent files) and ``qt_main_suggestions`` (model suggestions);
this module holds the state, the layout, the panels, editing, playback and navigation.

Public API for the side panels (each constructed as ``Panel(main_window)``): ``current_path``,
``current_recording``, ``current_annotations``, ``project``, ``selection_range_s``, ``open_path``,
``status``, ``play_samples``, ``add_suggestion_segments`` and the ``recordingChanged`` signal.
Panels must not reach into other attributes.
"""
from __future__ import annotations

import importlib
import logging
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QScrollArea,
                               QStyle, QVBoxLayout, QWidget)

from clinaudio_gui.core import (AnnotationSet, Autosaver, ClinAudioError, LabelSchema, Project, Recording,
                                Segment, get_schema)
from clinaudio_gui.ui.qt_dataset_panel import QtDatasetPanel
from clinaudio_gui.ui.qt_elided_label import QtElidedLabel
from clinaudio_gui.ui.qt_main_actions import QtMainActionsMixin
from clinaudio_gui.ui.qt_main_files import QtMainFilesMixin
from clinaudio_gui.ui.qt_main_session import QtMainSessionMixin
from clinaudio_gui.ui.qt_main_suggestions import QtMainSuggestionsMixin
from clinaudio_gui.ui.qt_player import QtPlayer
from clinaudio_gui.ui.qt_segment_table import QtSegmentTable
from clinaudio_gui.ui.qt_spectro_settings import QtSpectroSettings
from clinaudio_gui.ui.qt_timeline import QtTimeline
from clinaudio_gui.ui.spectro import SpectroSettings
from clinaudio_gui.ui.theme import apply_theme

log = logging.getLogger(__name__)

PANEL_MODULES = (("qt_augment_panel", "QtAugmentPanel", "Augment"),
                 ("qt_classify_panel", "QtClassifyPanel", "Classify"),
                 ("qt_learn_panel", "QtLearnPanel", "Model in the loop"),
                 ("qt_gan_panel", "QtGanPanel", "Synthesize (GAN)"),
                 ("qt_live_panel", "QtLivePanel", "Live"))


def _settings() -> QSettings:
    return QSettings("ClinAudio", "clinaudio-gui")


class QtMainWindow(QtMainActionsMixin, QtMainFilesMixin, QtMainSuggestionsMixin, QtMainSessionMixin, QMainWindow):
    recordingChanged = Signal()

    def __init__(self, *, schema: LabelSchema | str | None = None, load_panels: bool = True,
                 restore_layout: bool = True):
        super().__init__()
        self.setWindowTitle("ClinAudio")
        self.resize(1400, 860)
        self.setAcceptDrops(True)
        self._qs = _settings()
        if isinstance(schema, str):
            schema = get_schema(schema)
        self._schema: LabelSchema = schema or get_schema(str(self._qs.value("schema", "sprsound-events")))
        self._path: Path | None = None
        self._recording: Recording | None = None
        self._annotations: AnnotationSet | None = None
        self._project: Project | None = None
        self._autosaver: Autosaver | None = None
        self._unsub = None
        self._load_problem: str | None = None
        self._suggestions: list[Segment] = []
        self._suggestion_record: tuple[str | None, float | None] = (None, None)
        self.panel_errors: dict[str, str] = {}
        self.panels: dict[str, QWidget] = {}

        self.timeline = QtTimeline()
        self.timeline.message.connect(self.status)
        self.timeline.selectionChanged.connect(self._on_timeline_selection)
        self.timeline.levelsChosen.connect(self._on_levels_chosen)
        self.timeline.viewChanged.connect(self._on_view_changed)
        self.timeline.suggestionSelected.connect(self._on_suggestion_clicked)
        self.setCentralWidget(self._build_center())

        self.player = QtPlayer(self)
        self.player.positionChanged.connect(self._on_play_position)
        self.player.stateChanged.connect(self._on_play_state)
        self.player.message.connect(self.status)

        self.dataset = QtDatasetPanel()
        self.dataset.recordingActivated.connect(self.open_path)
        self.segment_table = QtSegmentTable()
        self.segment_table.segmentActivated.connect(self._jump_to_segment)
        self.spectro_panel = QtSpectroSettings()
        self.spectro_panel.settingsChanged.connect(self._on_spectro_settings)
        self.spectro_panel.set_output_devices(self.player.output_devices, self.player.device_name)
        self.spectro_panel.deviceChanged.connect(self._on_device_changed)
        self.spectro_panel.themeChanged.connect(self._set_theme)

        self.dataset_dock = self._dock("Dataset", self.dataset, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.segments_dock = self._dock("Segments", self.segment_table, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.settings_dock = self._dock("View and playback", self.spectro_panel,
                                        Qt.DockWidgetArea.RightDockWidgetArea)
        self.resizeDocks([self.dataset_dock, self.settings_dock], [300, 340], Qt.Orientation.Horizontal)
        self.resizeDocks([self.dataset_dock, self.segments_dock], [420, 300], Qt.Orientation.Vertical)
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._status_label = QLabel("")
        self.statusBar().addPermanentWidget(self._status_label)
        self.audio_label = QLabel(self.player.availability())
        self.statusBar().addPermanentWidget(self.audio_label)

        self._autosave_timer = QTimer(self)
        self._autosave_timer.setInterval(250)
        self._autosave_timer.timeout.connect(self._autosave_tick)
        self._autosave_timer.start()
        self._init_session()

        st = self._qs.value("spectro")
        if isinstance(st, str):
            try:
                import json
                self.spectro_panel.set_settings(SpectroSettings.from_dict(json.loads(st)))
            except Exception:  # noqa: BLE001 - stale settings never block the start
                pass
        self._set_theme(str(self._qs.value("theme", "dark")), save=False)
        if load_panels:
            self._load_panels()
        geo, state = self._qs.value("geometry"), self._qs.value("window_state")
        if restore_layout and geo is not None:
            self.restoreGeometry(geo)
        if restore_layout and state is not None:
            self.restoreState(state)
        self._update_title()
        self.status("open a recording or a folder (File menu, or drop it here)")

    # ------------------------------------------------------------------ public API for panels
    def current_path(self) -> Path | None:
        return self._path

    def current_recording(self) -> Recording | None:
        return self._recording

    def current_annotations(self) -> AnnotationSet | None:
        return self._annotations

    def project(self) -> Project | None:
        return self._project

    def schema(self) -> LabelSchema:
        return self._schema

    def selection_range_s(self) -> tuple[float, float] | None:
        seg = self.timeline.selected_segment()
        return (seg.start_s, seg.end_s) if seg is not None else None

    def status(self, msg: str) -> None:
        log.info(msg)
        self.statusBar().showMessage(str(msg), 15000)

    def play_samples(self, y, sr: int, start_s: float = 0.0) -> None:
        """Play arbitrary samples (e.g. an A/B preview); the playhead shows start_s + elapsed."""
        self.player.play_array(y, int(sr), start_s=start_s, show_playhead=False)

    # ------------------------------------------------------------------ layout
    def _build_center(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.info_label = QtElidedLabel("", min_width_px=80)     # a long name elides, never widens the window
        self.info_label.setObjectName("infoBar")
        head = QHBoxLayout()
        head.setContentsMargins(8, 4, 8, 4)
        head.addWidget(self.info_label, 1)
        head.addSpacing(12)
        head.addWidget(QLabel("record:"))
        self.record_box = QComboBox()
        self.record_box.setToolTip("the recording's record label")
        self.record_box.activated.connect(self._record_label_chosen)
        head.addWidget(self.record_box)
        head.addSpacing(8)
        head.addWidget(QLabel("new:"))
        self.label_box = QComboBox()
        self.label_box.setToolTip("the label of new segments (keys 1-9 choose it when nothing is selected)")
        for box in (self.record_box, self.label_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(9)
        self.label_box.activated.connect(lambda _i: self._set_active_label(self.label_box.currentData()))
        head.addWidget(self.label_box)
        lay.addLayout(head)
        lay.addWidget(self.timeline, 1)
        lay.addWidget(self._build_suggestion_bar())
        self._fill_label_boxes()
        return w

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(title.replace(" ", "_"))
        d.setWidget(widget)
        self.addDockWidget(area, d)
        return d

    def _fill_label_boxes(self) -> None:
        self.label_box.clear()
        for lab in self._schema.labels:
            self.label_box.addItem(f"{lab.shortcut}  {lab.name}" if lab.shortcut else lab.name, lab.name)
        self.record_box.clear()
        self.record_box.addItem("(none)", None)
        for name in self._schema.record_labels:
            self.record_box.addItem(name, name)

    # ------------------------------------------------------------------ panels
    def _load_panels(self) -> None:
        for mod_name, cls_name, title in PANEL_MODULES:
            full = f"clinaudio_gui.ui.{mod_name}"
            if importlib.util.find_spec(full) is None:
                continue
            try:
                mod = importlib.import_module(full)
                panel = getattr(mod, cls_name)(self)
            except Exception as e:  # noqa: BLE001 - a broken panel must not break the window
                msg = f"{title} panel unavailable: {type(e).__name__}: {e}"
                log.error("%s\n%s", msg, traceback.format_exc())
                self.panel_errors[cls_name] = msg
                self.status(msg)
                continue
            for box in panel.findChildren(QComboBox):   # a long model / file name must not widen the dock
                if box.sizeAdjustPolicy() == QComboBox.SizeAdjustPolicy.AdjustToContentsOnFirstShow:
                    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
                    box.setMinimumContentsLength(6)
            scroll = QScrollArea()          # a wide panel must not widen the whole window
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(panel)
            dock = self._dock(title, scroll, Qt.DockWidgetArea.RightDockWidgetArea)
            self.tabifyDockWidget(self.settings_dock, dock)
            self.panels_menu.addAction(dock.toggleViewAction())
            self.panels[cls_name] = panel
        self.settings_dock.raise_()
        self.resizeDocks([self.dataset_dock, self.settings_dock], [300, 340], Qt.Orientation.Horizontal)
        if "QtLearnPanel" in self.panels:
            from clinaudio_gui.ui.qt_learn_panel import wire_learn
            wire_learn(self)

    # ------------------------------------------------------------------ editing
    def _on_annotations_event(self, ev) -> None:
        if self._autosaver is not None and self._path is not None:
            self._autosaver.notify_changed(self._path, self._annotations)
        if ev.kind == "record_label":
            self._sync_record_box()
        self._update_title()
        self._update_info()
        self._schedule_row_update()         # the dataset's counts follow the edit

    def _autosave_tick(self) -> None:
        if self._autosaver is not None:
            try:
                written = self._autosaver.tick()
            except Exception as e:  # noqa: BLE001
                self._error(f"autosave failed: {e}")
                return
            if written:
                self._status_label.setText(f"autosaved {time.strftime('%H:%M:%S')}")

    def apply_label_key(self, key: str) -> None:
        name = self._schema.label_for_shortcut(key)
        if name is None:
            self.status(f"key {key}: no label in schema {self._schema.name}")
            return
        self._set_active_label(name)
        seg = self.timeline.selected_segment()
        if seg is None:
            self.status(f"no segment selected: key {key} sets the label of new segments to {name}")
        elif self._annotations is not None and seg.label != name:
            self._annotations.modify(seg.id, label=name)
            self.status(f"labeled {seg.start_s:.2f}-{seg.end_s:.2f} s as {name}")

    def _set_active_label(self, name: str | None) -> None:
        if not name:
            return
        self.timeline.active_label = name
        i = self.label_box.findData(name)
        if i >= 0:
            self.label_box.setCurrentIndex(i)

    def delete_selected(self) -> None:
        seg = self.timeline.selected_segment()
        if seg is not None and self._annotations is not None:
            self._annotations.remove(seg.id)
            self.status(f"deleted {seg.label} {seg.start_s:.2f}-{seg.end_s:.2f} s (Ctrl+Z to undo)")

    def undo(self) -> None:
        if self._annotations is not None and self._annotations.can_undo():
            text = self._annotations.undo_text()
            c = self._annotations.undo_top()
            if self._annotations.undo():
                self._suggestions_after_undo(c)     # an accepted suggestion goes back on its track
            self.status(f"undo {text}")

    def redo(self) -> None:
        if self._annotations is not None and self._annotations.can_redo():
            text = self._annotations.redo_text()
            c = self._annotations.redo_top()
            if self._annotations.redo():
                self._suggestions_after_redo(c)
            self.status(f"redo {text}")

    def _record_label_chosen(self, _i: int) -> None:
        if self._annotations is None:
            return
        value = self.record_box.currentData()
        if value != self._annotations.record_label:
            self._annotations.set_record_label(value)

    def _sync_record_box(self) -> None:
        rl = self._annotations.record_label if self._annotations is not None else None
        i = self.record_box.findData(rl)
        if i < 0 and rl:
            self.record_box.addItem(rl, rl)
            i = self.record_box.findData(rl)
        self.record_box.setCurrentIndex(max(0, i))

    def set_schema(self, schema: LabelSchema) -> None:
        self._schema = schema
        self._qs.setValue("schema", schema.name)
        self._fill_label_boxes()
        self.timeline.schema = schema
        self.timeline.active_label = schema.names[0] if schema.names else ""
        self.timeline._rebuild_segments()
        self.segment_table.set_annotations(self._annotations, schema)
        self._sync_record_box()
        self.status(f"label schema {schema.name}: " + ", ".join(
            f"{lab.shortcut}={lab.name}" for lab in schema.labels if lab.shortcut))

    def _schema_from_file(self) -> None:
        fn, _ = QFileDialog.getOpenFileName(self, "Label schema (JSON)", "", "JSON (*.json)")
        if fn:
            try:
                self.set_schema(get_schema(fn))
            except (ClinAudioError, ValueError) as e:
                self._error(str(e))

    # ------------------------------------------------------------------ settings
    def _set_theme(self, name: str, save: bool = True) -> None:
        apply_theme(name, self)
        if name in getattr(self, "theme_actions", {}):
            self.theme_actions[name].setChecked(True)
        self.spectro_panel.set_theme_name(name)
        if save:
            self._qs.setValue("theme", name)

    def _on_spectro_settings(self, s: SpectroSettings) -> None:
        self.timeline.set_settings(s)
        import json
        self._qs.setValue("spectro", json.dumps(s.to_dict()))

    def _on_levels_chosen(self, lo: float, hi: float) -> None:
        self.spectro_panel.set_settings(self.timeline.settings, emit=False)

    def _on_device_changed(self, name) -> None:
        self.player.set_device(name)
        self._qs.setValue("output_device", name or "")
        self.audio_label.setText(self.player.availability())

    # ------------------------------------------------------------------ playback
    def toggle_play(self) -> None:
        if self.player.is_playing():
            self.player.pause()
            return
        if self._recording is None:
            return
        start = self.player.paused_at if self.player.paused_at is not None else self.timeline.cursor_s
        if start >= self._recording.duration_s - 0.01:
            start = 0.0
        self.player.play_recording(self._recording, start_s=start)

    def play_selection(self) -> None:
        if self._recording is None:
            return
        sel = self.selection_range_s() or self.timeline.visible_range()
        self.player.play_recording(self._recording, start_s=sel[0], end_s=sel[1])

    def _on_play_position(self, t: float) -> None:
        self.timeline.set_playhead(t)
        self._update_time_label(t)

    def _on_play_state(self, state: str) -> None:
        if state == "stopped":
            self.timeline.set_playhead(None)
        playing = state == "playing"
        self.act_play.setIconText("Pause" if playing else "Play")
        self.act_play.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay))

    # ------------------------------------------------------------------ navigation
    def _span(self) -> float:
        t0, t1 = self.timeline.visible_range()
        return t1 - t0

    def _zoom_all(self) -> None:
        self.timeline.set_visible_range(0, self.timeline.duration_s)

    def _step_recording(self, step: int, *, unlabeled_only: bool = True) -> None:
        nxt = self.dataset.neighbour(self._path, step, unlabeled_only=unlabeled_only)
        if nxt is None:
            self.status("no more " + ("unlabeled " if unlabeled_only else "") + "recordings in that direction")
            return
        self.open_path(nxt)

    def _step_segment(self, step: int) -> None:
        if self._annotations is None or not len(self._annotations):
            return
        segs = self._annotations.sorted_segments()
        cur = self.timeline.selected_segment()
        i = next((k for k, s in enumerate(segs) if cur is not None and s.id == cur.id), -1 if step > 0 else 0)
        seg = segs[(i + step) % len(segs)]
        self._jump_to_segment(seg.id)

    def _jump_to_segment(self, sid: str) -> None:
        if self._annotations is None or self._annotations.index_of(sid) is None:
            return
        seg = self._annotations.get(sid)
        self.timeline.jump_to(seg)
        self.timeline.set_cursor(seg.start_s)

    def _on_timeline_selection(self, sid) -> None:
        self.segment_table.select_segment(sid)
        self._update_time_label(None)        # also when the selection went (a deleted segment)

    def _on_view_changed(self, t0: float, t1: float) -> None:
        self._update_time_label(None)

    def _update_time_label(self, t: float | None) -> None:
        t0, t1 = self.timeline.visible_range()
        txt = f" view {t0:.2f}–{t1:.2f} s"
        seg = self.timeline.selected_segment()
        if seg is not None:
            txt += f" · sel {seg.start_s:.2f}–{seg.end_s:.2f} s"
        if t is not None:
            txt += f" · ▶ {t:.2f} s"
        self.time_label.setText(txt)

    # ------------------------------------------------------------------ misc
    def _update_title(self) -> None:
        if self._path is None:
            self.setWindowTitle("ClinAudio")
            return
        dirty = "•" if self._annotations is not None and self._annotations.dirty else ""
        self.setWindowTitle(f"{dirty}{self._path.name} — ClinAudio")

    def _update_info(self) -> None:
        r = self._recording
        if r is None:
            self.info_label.setText("")
            return
        a = self._annotations
        n = len(a) if a is not None else 0
        ch = "mono" if r.channels == 1 else f"{r.channels} ch (mixed down)"
        self.info_label.setText(
            f"<b>{r.name}</b> &nbsp;·&nbsp; {r.sample_rate_hz / 1000:g} kHz {ch} &nbsp;·&nbsp; "
            f"{_fmt_duration(r.duration_s)} &nbsp;·&nbsp; {n} segment(s) &nbsp;·&nbsp; schema {self._schema.name}")

    def _error(self, msg: str) -> None:
        log.error(msg)
        self.status("⚠ " + msg)

    def closeEvent(self, ev):
        try:
            self._keep_current_doc()
            if not self._confirm_close():      # unsaved edits: Save / Discard / Cancel first
                ev.ignore()
                return
            self.player.stop()
            if self._autosaver is not None and not self._close_confirmed:
                self._autosaver.flush()
        except Exception:  # noqa: BLE001
            log.exception("closing: keeping the edits failed")
        self._qs.setValue("geometry", self.saveGeometry())
        self._qs.setValue("window_state", self.saveState())
        self.player.shutdown()
        self.timeline.shutdown()
        if "QtLearnPanel" in self.panels:         # a running fine-tune process ends with the window
            self.panels["QtLearnPanel"].shutdown()
        super().closeEvent(ev)


def _fmt_duration(s: float) -> str:
    if s < 60:
        return f"{s:.2f} s"
    m, sec = divmod(s, 60)
    if m < 60:
        return f"{int(m)}:{sec:04.1f} min"
    h, m = divmod(m, 60)
    return f"{int(h)}:{int(m):02d}:{sec:02.0f} h"


MainWindow = QtMainWindow
