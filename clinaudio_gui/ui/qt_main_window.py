"""The main window: dataset, timeline (waveform + spectrogram), segments, settings, playback, panels.

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
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFileDialog, QHBoxLayout, QLabel, QMainWindow,
                               QMessageBox, QPushButton, QScrollArea, QSizePolicy, QStyle, QToolBar, QVBoxLayout, QWidget)

from clinaudio_gui.core import (AnnotationSet, Autosaver, ClinAudioError, LabelSchema, Project, Recording,
                                Segment, get_schema)
from clinaudio_gui.core.project import AUDIO_EXTENSIONS
from clinaudio_gui.io import file_stem, open_audio
from clinaudio_gui.ui.annotation_files import (FORMAT_SUFFIX, FORMAT_TITLES, io_formats, load_for_recording,
                                               read_annotations_any, write_annotations_any)
from clinaudio_gui.ui.qt_dataset_panel import QtDatasetPanel
from clinaudio_gui.ui.qt_player import QtPlayer
from clinaudio_gui.ui.qt_segment_table import QtSegmentTable
from clinaudio_gui.ui.qt_spectro_settings import QtSpectroSettings
from clinaudio_gui.ui.qt_timeline import QtTimeline
from clinaudio_gui.ui.spectro import SpectroSettings
from clinaudio_gui.ui.theme import apply_theme

log = logging.getLogger(__name__)

PANEL_MODULES = (("qt_augment_panel", "QtAugmentPanel", "Augment"),
                 ("qt_classify_panel", "QtClassifyPanel", "Classify"),
                 ("qt_gan_panel", "QtGanPanel", "Synthesize (GAN)"),
                 ("qt_live_panel", "QtLivePanel", "Live"))
MAX_RECENT = 10
AUTOSAVE_DELAY_S = 1.0


def _settings() -> QSettings:
    return QSettings("ClinAudio", "clinaudio-gui")


class QtMainWindow(QMainWindow):
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
        self.resizeDocks([self.dataset_dock, self.settings_dock], [330, 320], Qt.Orientation.Horizontal)
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

    def add_suggestion_segments(self, segments, record_label: str | None = None,
                                record_confidence: float | None = None) -> None:
        """Show a model's suggestions on the suggestion track; each can be accepted or rejected."""
        self._suggestions = [s.replace(source="model") if s.source != "model" else s for s in segments]
        self._suggestion_record = (record_label, record_confidence)
        self.timeline.set_suggestions(self._suggestions)
        self._update_suggestion_bar()
        n = len(self._suggestions)
        txt = f"{n} suggested segment(s)"
        if record_label:
            txt += f"; suggested record label {record_label}" + (
                f" ({record_confidence:.2f})" if record_confidence is not None else "")
        self.status(txt + " - accept or reject them under the spectrogram")

    def open_path(self, path) -> bool:
        """Open a recording (with its annotations) or a folder (its first recording)."""
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

    # ------------------------------------------------------------------ layout
    def _build_center(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.info_label = QLabel("")
        self.info_label.setObjectName("infoBar")
        self.info_label.setTextFormat(Qt.TextFormat.RichText)
        self.info_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.info_label.setMinimumWidth(120)
        head = QHBoxLayout()
        head.setContentsMargins(8, 4, 8, 4)
        head.addWidget(self.info_label, 1)
        head.addSpacing(12)
        head.addWidget(QLabel("record label:"))
        self.record_box = QComboBox()
        self.record_box.setMinimumWidth(130)
        self.record_box.activated.connect(self._record_label_chosen)
        head.addWidget(self.record_box)
        head.addSpacing(8)
        head.addWidget(QLabel("new segments:"))
        self.label_box = QComboBox()
        self.label_box.setMinimumWidth(130)
        self.label_box.activated.connect(lambda _i: self._set_active_label(self.label_box.currentData()))
        head.addWidget(self.label_box)
        lay.addLayout(head)
        lay.addWidget(self.timeline, 1)
        # suggestion bar
        self.sugg_bar = QWidget()
        sl = QHBoxLayout(self.sugg_bar)
        sl.setContentsMargins(8, 2, 8, 2)
        self.sugg_label = QLabel("")
        sl.addWidget(self.sugg_label, 1)
        for text, slot in (("Accept selected", self._accept_selected_suggestion),
                           ("Reject selected", self._reject_selected_suggestion),
                           ("Accept all", self.accept_all_suggestions), ("Reject all", self.reject_all_suggestions)):
            b = QPushButton(text)
            b.clicked.connect(slot)
            sl.addWidget(b)
        self.sugg_bar.hide()
        self._sugg_selected: int | None = None
        lay.addWidget(self.sugg_bar)
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

    def _build_actions(self) -> None:
        A = self._action
        self.act_open = A("&Open recording…", self._open_file_dialog, QKeySequence.StandardKey.Open)
        self.act_open_folder = A("Open &folder…", self._open_folder_dialog, "Ctrl+Shift+O")
        self.act_save = A("&Save annotations", self.save, QKeySequence.StandardKey.Save)
        self.act_done = A("Mark recording &done", self.mark_done, "Ctrl+D")
        self.act_quit = A("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_undo = A("&Undo", self.undo, "Ctrl+Z")
        self.act_redo = A("&Redo", self.redo, "Ctrl+Shift+Z")
        self.act_redo_y = A("Redo", self.redo, "Ctrl+Y")
        self.act_delete = A("&Delete segment", self.delete_selected, QKeySequence.StandardKey.Delete)
        self.act_delete_bs = A("Delete segment", self.delete_selected, "Backspace")
        self.act_play = A("&Play / pause", self.toggle_play, "Space")
        self.act_play_sel = A("Play &selection", self.play_selection, "Shift+Space")
        self.act_stop = A("Stop", self.player.stop, "Escape")
        self.act_loop = A("&Loop", None, "L", checkable=True)
        self.act_loop.toggled.connect(lambda on: setattr(self.player, "loop", on))
        self.act_zoom_in = A("Zoom &in", lambda: self.timeline.zoom(2.0), "+")
        self.act_zoom_in2 = A("Zoom in", lambda: self.timeline.zoom(2.0), "=")
        self.act_zoom_out = A("Zoom &out", lambda: self.timeline.zoom(0.5), "-")
        self.act_zoom_all = A("Zoom to &whole recording", self._zoom_all, "0")
        self.act_left = A("Pan left", lambda: self.timeline.pan(-0.25), "Left")
        self.act_right = A("Pan right", lambda: self.timeline.pan(0.25), "Right")
        self.act_home = A("Go to start", lambda: self.timeline.set_visible_range(0, self._span()), "Home")
        self.act_end = A("Go to end", lambda: self.timeline.set_visible_range(
            self.timeline.duration_s - self._span(), self.timeline.duration_s), "End")
        self.act_next = A("&Next unlabeled", lambda: self._step_recording(+1), "PgDown")
        self.act_prev = A("&Previous unlabeled", lambda: self._step_recording(-1), "PgUp")
        self.act_next_any = A("Next recording", lambda: self._step_recording(+1, unlabeled_only=False), "Ctrl+PgDown")
        self.act_prev_any = A("Previous recording", lambda: self._step_recording(-1, unlabeled_only=False),
                              "Ctrl+PgUp")
        self.label_actions = []
        for i in range(9):
            act = A(f"Label {i + 1}", lambda _=False, k=str(i + 1): self.apply_label_key(k), str(i + 1))
            self.label_actions.append(act)
        self.act_next_seg = A("Next segment", lambda: self._step_segment(+1), "]")
        self.act_prev_seg = A("Previous segment", lambda: self._step_segment(-1), "[")

    def _action(self, text, slot, shortcut=None, *, checkable=False) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.setCheckable(checkable)
        if slot is not None:
            act.triggered.connect(lambda _checked=False: slot())
        self.addAction(act)
        return act

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addActions([self.act_open, self.act_open_folder])
        self.recent_menu = m.addMenu("Open &recent")
        self._fill_recent()
        m.addSeparator()
        m.addActions([self.act_save, self.act_done])
        self.import_menu = m.addMenu("&Import annotations")
        self.export_menu = m.addMenu("&Export annotations")
        self.import_actions, self.export_actions = {}, {}
        for fmt in io_formats():
            title = FORMAT_TITLES.get(fmt, fmt)
            ai = QAction(title + "…", self)
            ai.triggered.connect(lambda _=False, f=fmt: self._import_dialog(f))
            self.import_menu.addAction(ai)
            self.import_actions[fmt] = ai
            ae = QAction(title + "…", self)
            ae.triggered.connect(lambda _=False, f=fmt: self._export_dialog(f))
            self.export_menu.addAction(ae)
            self.export_actions[fmt] = ae
        m.addSeparator()
        m.addAction(self.act_quit)
        e = mb.addMenu("&Edit")
        e.addActions([self.act_undo, self.act_redo, self.act_delete])
        e.addSeparator()
        lab = e.addMenu("Apply &label")
        for i, act in enumerate(self.label_actions):
            lab.addAction(act)
        self.schema_menu = e.addMenu("Label &schema")
        grp = QActionGroup(self)
        from clinaudio_gui.core import BUILTIN_SCHEMAS
        for name in BUILTIN_SCHEMAS:
            a = QAction(name, self, checkable=True)
            a.setChecked(name == self._schema.name)
            a.triggered.connect(lambda _=False, n=name: self.set_schema(get_schema(n)))
            grp.addAction(a)
            self.schema_menu.addAction(a)
        a = QAction("From JSON file…", self)
        a.triggered.connect(self._schema_from_file)
        self.schema_menu.addAction(a)
        v = mb.addMenu("&View")
        v.addActions([self.act_zoom_in, self.act_zoom_out, self.act_zoom_all, self.act_left, self.act_right])
        v.addSeparator()
        for d in (self.dataset_dock, self.segments_dock, self.settings_dock):
            v.addAction(d.toggleViewAction())
        self.panels_menu = v.addMenu("&Panels")
        t = v.addMenu("&Theme")
        grp = QActionGroup(self)
        self.theme_actions = {}
        for name in ("light", "dark"):
            a = QAction(name, self, checkable=True)
            a.triggered.connect(lambda _=False, n=name: self._set_theme(n))
            grp.addAction(a)
            t.addAction(a)
            self.theme_actions[name] = a
        p = mb.addMenu("&Playback")
        p.addActions([self.act_play, self.act_play_sel, self.act_stop, self.act_loop])
        n = mb.addMenu("&Go")
        n.addActions([self.act_next, self.act_prev, self.act_next_any, self.act_prev_any, self.act_next_seg,
                      self.act_prev_seg, self.act_home, self.act_end])
        h = mb.addMenu("&Help")
        a = QAction("Keyboard shortcuts", self)
        a.triggered.connect(self._show_keys)
        h.addAction(a)

    def _build_toolbar(self) -> None:
        sp = QStyle.StandardPixmap
        icons = {self.act_open: sp.SP_DialogOpenButton, self.act_open_folder: sp.SP_DirOpenIcon,
                 self.act_save: sp.SP_DialogSaveButton, self.act_undo: sp.SP_ArrowBack, self.act_redo: sp.SP_ArrowForward,
                 self.act_play: sp.SP_MediaPlay, self.act_play_sel: sp.SP_MediaSeekForward,
                 self.act_loop: sp.SP_BrowserReload, self.act_prev: sp.SP_MediaSkipBackward,
                 self.act_next: sp.SP_MediaSkipForward, self.act_zoom_all: sp.SP_TitleBarMaxButton}
        for act, pix in icons.items():
            act.setIcon(self.style().standardIcon(pix))
        short = {self.act_open: "Open", self.act_open_folder: "Folder", self.act_save: "Save",
                 self.act_play: "Play", self.act_play_sel: "Selection", self.act_zoom_in: "Zoom +",
                 self.act_zoom_out: "Zoom −", self.act_zoom_all: "All", self.act_prev: "Prev",
                 self.act_next: "Next unlabeled"}
        for act, text in short.items():
            act.setIconText(text)
            act.setToolTip(f"{act.text().replace('&', '')} ({act.shortcut().toString()})")
        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.setIconSize(tb.iconSize() * 0.8)
        self.addToolBar(tb)
        tb.addAction(self.act_open)
        tb.addAction(self.act_open_folder)
        tb.addAction(self.act_save)
        tb.addSeparator()
        tb.addAction(self.act_undo)
        tb.addAction(self.act_redo)
        tb.addSeparator()
        tb.addAction(self.act_play)
        tb.addAction(self.act_play_sel)
        tb.addAction(self.act_loop)
        tb.addWidget(QLabel(" speed "))
        self.speed_box = QComboBox()
        for r in (0.5, 0.75, 1.0, 1.25, 1.5, 2.0):
            self.speed_box.addItem(f"{r:g}×", r)
        self.speed_box.setCurrentIndex(2)
        self.speed_box.currentIndexChanged.connect(lambda _i: self.player.set_speed(self.speed_box.currentData()))
        self.speed_box.setToolTip("playback speed (pitch kept)")
        tb.addWidget(self.speed_box)
        tb.addSeparator()
        tb.addAction(self.act_zoom_in)
        tb.addAction(self.act_zoom_out)
        tb.addAction(self.act_zoom_all)
        tb.addSeparator()
        tb.addAction(self.act_prev)
        tb.addAction(self.act_next)
        self.time_label = QLabel("")
        self.time_label.setMinimumWidth(240)
        tb.addSeparator()
        tb.addWidget(self.time_label)

    def _show_keys(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", (
            "Drag on waveform / spectrogram: new segment (Shift+drag on the spectrogram: time-frequency box)\n"
            "Drag a segment edge: adjust (one undo step)\n1-9: apply label to the selected segment "
            "(and to new ones)\nDelete: remove selected segment\n] / [: next / previous segment\n"
            "Ctrl+Z / Ctrl+Shift+Z: undo / redo\nSpace: play / pause, Shift+Space: play selection, L: loop\n"
            "Wheel, + / -: zoom; Ctrl+drag, middle drag, Left / Right: pan; 0: whole recording\n"
            "PgDn / PgUp: next / previous unlabeled recording\nCtrl+S: save, Ctrl+D: mark done"))

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
            scroll = QScrollArea()          # a wide panel must not widen the whole window
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(panel)
            dock = self._dock(title, scroll, Qt.DockWidgetArea.RightDockWidgetArea)
            self.tabifyDockWidget(self.settings_dock, dock)
            self.panels_menu.addAction(dock.toggleViewAction())
            self.panels[cls_name] = panel
        self.settings_dock.raise_()
        self.resizeDocks([self.dataset_dock, self.settings_dock], [330, 320], Qt.Orientation.Horizontal)

    # ------------------------------------------------------------------ opening
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

    def _open_folder(self, folder: Path) -> None:
        self._leave_recording()
        project = Project(folder)
        recs = project.recordings()
        self._project = project
        self._autosaver = Autosaver(project, delay_s=AUTOSAVE_DELAY_S)
        self.dataset.set_folder(project, recs)
        self._add_recent(folder)
        rec = project.pending_recovery()
        if rec:
            self.status(f"{len(rec)} recording(s) in {folder} have autosaved edits; they open with them")
        if recs:
            self._open_recording(recs[0])
        else:
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
        annotations, source, problem = load_for_recording(self._project, path,
                                                          audio_duration_s=recording.duration_s)
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
        self._suggestions = []
        self._update_suggestion_bar()
        self._add_recent(path)
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
        """Before switching: save edits to the sidecar (the autosave already holds them)."""
        self.player.stop()
        if self._annotations is not None and self._path is not None and self._project is not None:
            if self._annotations.dirty and self._can_overwrite():
                try:
                    self._project.save(self._path, self._annotations)
                    self._autosaver and self._autosaver._pending.pop(self._path, None)
                except Exception as e:  # noqa: BLE001
                    self._error(f"{self._path}: could not save annotations ({e}); the autosave keeps them")
            self.dataset.refresh_row(self._path)
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

    # ------------------------------------------------------------------ editing
    def _on_annotations_event(self, ev) -> None:
        if self._autosaver is not None and self._path is not None:
            self._autosaver.notify_changed(self._path, self._annotations)
        if ev.kind == "record_label":
            self._sync_record_box()
        self._update_title()
        self._update_info()

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
        if seg is not None and self._annotations is not None and seg.label != name:
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
            self._annotations.undo()
            self.status(f"undo {text}")

    def redo(self) -> None:
        if self._annotations is not None and self._annotations.can_redo():
            text = self._annotations.redo_text()
            self._annotations.redo()
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
        self.dataset.refresh_row(self._path)
        self._update_title()
        self.status(f"saved {side}")
        return True

    def mark_done(self) -> None:
        if self._annotations is not None:
            self._annotations.set_metadata("status", "done")
            self.save()

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
            new = read_annotations_any(Path(path), fmt, audio_duration_s=dur)
        except (ClinAudioError, ValueError) as e:
            self._error(str(e))
            return False
        a = self._annotations
        with a.gesture(f"import {Path(path).name}"):
            for s in list(a.segments):
                a.remove(s.id)
            for s in new.segments:
                a.add(s)
            if new.record_label != a.record_label:
                a.set_record_label(new.record_label)
        self.status(f"imported {len(new)} segment(s) from {path} (Ctrl+Z to undo)")
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
        self.status(f"exported {len(self._annotations)} segment(s) to {path} ({fmt})")
        return True

    # ------------------------------------------------------------------ recent files / settings
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
        seg = self.timeline.selected_segment()
        if seg is not None:
            self._update_time_label(None)

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

    # ------------------------------------------------------------------ suggestions
    def _update_suggestion_bar(self) -> None:
        n = len(self._suggestions)
        rl, rc = self._suggestion_record
        self.sugg_bar.setVisible(bool(n or rl))
        txt = f"<b>Model suggestions</b>: {n} segment(s)"
        if rl:
            txt += f" · record label <b>{rl}</b>" + (f" ({rc:.2f})" if rc is not None else "")
        if self._sugg_selected is not None and self._sugg_selected < n:
            s = self._suggestions[self._sugg_selected]
            txt += f" · selected: {s.label} {s.start_s:.2f}–{s.end_s:.2f} s"
        self.sugg_label.setText(txt)

    def _on_suggestion_clicked(self, i) -> None:
        self._sugg_selected = i
        self._update_suggestion_bar()

    def accept_suggestion(self, i: int) -> None:
        if self._annotations is None or not 0 <= i < len(self._suggestions):
            return
        s = self._suggestions.pop(i)
        self._annotations.add(s.replace(source="model"))
        self._sugg_selected = None
        self.timeline.set_suggestions(self._suggestions)
        self._update_suggestion_bar()

    def reject_suggestion(self, i: int) -> None:
        if 0 <= i < len(self._suggestions):
            self._suggestions.pop(i)
            self._sugg_selected = None
            self.timeline.set_suggestions(self._suggestions)
            self._update_suggestion_bar()

    def _accept_selected_suggestion(self) -> None:
        if self._sugg_selected is not None:
            self.accept_suggestion(self._sugg_selected)

    def _reject_selected_suggestion(self) -> None:
        if self._sugg_selected is not None:
            self.reject_suggestion(self._sugg_selected)

    def accept_all_suggestions(self) -> None:
        if self._annotations is None:
            return
        rl, _rc = self._suggestion_record
        with self._annotations.gesture("accept suggestions"):
            for s in self._suggestions:
                self._annotations.add(s.replace(source="model"))
            if rl and rl != self._annotations.record_label:
                self._annotations.set_record_label(rl)
        self.reject_all_suggestions()

    def reject_all_suggestions(self) -> None:
        self._suggestions = []
        self._suggestion_record = (None, None)
        self._sugg_selected = None
        self.timeline.set_suggestions([])
        self._update_suggestion_bar()

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
            self._leave_recording()
            if self._autosaver is not None:
                self._autosaver.flush()
        except Exception:  # noqa: BLE001
            log.exception("saving on close failed")
        self._qs.setValue("geometry", self.saveGeometry())
        self._qs.setValue("window_state", self.saveState())
        self.player.shutdown()
        self.timeline.shutdown()
        super().closeEvent(ev)


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def _fmt_duration(s: float) -> str:
    if s < 60:
        return f"{s:.2f} s"
    m, sec = divmod(s, 60)
    if m < 60:
        return f"{int(m)}:{sec:04.1f} min"
    h, m = divmod(m, 60)
    return f"{int(h)}:{int(m):02d}:{sec:02.0f} h"


MainWindow = QtMainWindow
