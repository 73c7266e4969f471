"""The main window's actions, menus, toolbar and shortcut help (a mixin of QtMainWindow)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMessageBox, QStyle, QToolBar

from clinaudio_gui.core import get_schema
from clinaudio_gui.ui.annotation_files import FORMAT_TITLES, io_formats


class QtMainActionsMixin:
    """Builds every QAction (with its shortcut), the menu bar and the toolbar of QtMainWindow.
    The slots it connects are QtMainWindow's (and its other mixins')."""

    # ------------------------------------------------------------------ actions and menus
    def _build_actions(self) -> None:
        A = self._action
        self.act_open = A("&Open recording…", self._open_file_dialog, QKeySequence.StandardKey.Open)
        self.act_open_folder = A("Open &folder…", self._open_folder_dialog, "Ctrl+Shift+O")
        self.act_save = A("&Save annotations", self.save, QKeySequence.StandardKey.Save)
        self.act_done = A("Mark recording &done", self.mark_done, "Ctrl+D")
        self.act_revert = A("Re&vert to saved…", self.revert_current)
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
        self.act_full_band = A("&Full band (0 Hz to Nyquist; again: lung sounds 50-2000 Hz)", self.toggle_full_band,
                               "F", checkable=True)
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
        # model suggestions, keyboard-first: N selects the next one, A / R accept / reject it
        self.act_sugg_next = A("Next suggestion", self.select_next_suggestion, "N")
        self.act_sugg_accept = A("Accept suggestion", self.accept_current_suggestion, "A")
        self.act_sugg_reject = A("Reject suggestion", self.reject_current_suggestion, "R")
        self.act_sugg_accept_all = A("Accept all suggestions", self.accept_all_suggestions, "Shift+A")
        self.act_sugg_reject_all = A("Reject all suggestions", self.reject_all_suggestions, "Shift+R")

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
        m.addAction("Open project &URL…").triggered.connect(lambda _=False: _ask_project_url(self))
        self.recent_menu = m.addMenu("Open &recent")
        self._fill_recent()
        m.addSeparator()
        m.addActions([self.act_save, self.act_done, self.act_revert])
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
        v.addActions([self.act_zoom_in, self.act_zoom_out, self.act_zoom_all, self.act_full_band, self.act_left,
                      self.act_right])
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
        sm = mb.addMenu("S&uggestions")
        sm.addActions([self.act_sugg_next, self.act_sugg_accept, self.act_sugg_reject, self.act_sugg_accept_all,
                       self.act_sugg_reject_all])
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
                 self.act_next: "Next", self.act_full_band: "Full band"}
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
        tb.addAction(self.act_full_band)
        tb.addSeparator()
        tb.addAction(self.act_prev)
        tb.addAction(self.act_next)
        self.time_label = QLabel("")
        self.time_label.setMinimumWidth(200)
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


def _ask_project_url(window) -> None:
    """A team project in a database (docs/team.md); imported when asked for, not at start-up."""
    from clinaudio_gui.ui.qt_project_queue import ask_project_url
    ask_project_url(window)
