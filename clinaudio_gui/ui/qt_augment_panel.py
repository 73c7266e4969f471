"""Augmentation panel: build a pipeline, preview it live, hear A/B, save it, export a dataset.

* Transforms: tick the ones to use (audio or spectrogram domain); the selected one's
  settings are edited in the form below it, and its drawn value is on the slider.
* The slider sets the frozen draw's value of the selected transform; the augmented waveform
  and spectrogram redraw at once: computed in a preview thread (numpy releases the GIL, the
  window stays responsive even for long 44.1 kHz files), only the latest slider state waits
  while one computes, so no stale frames queue up; about 15-40 ms for a 10 s clip at 8 kHz
  (``last_preview_ms``, shown in the panel; see docs/benchmarks.md).
* "New random draw" draws everything again from a new seed; "Freeze" keeps the current draw
  while settings change (apply is a pure function of the draw: the preview is bit-identical).
* A/B: play the original (A) or the augmented (B); switching while playing continues at the
  same position (scaled by the length ratio when the transform changes the duration).
* Scope: the whole recording or the selected segment (``selection_range_s``); with "splice
  into recording", "Add to project" keeps the recording around the augmented segment.
* Recipes: save / load JSON recipes, or start from the built-ins (naa, taa).
* "Add to project": write the augmented audio into the project folder with its moved
  annotations (native sidecar, with the draw as provenance) and open it.
* "Batch export...": ``run_batch`` in a worker thread with a progress dialog and cancel.

Split by job: this module holds the layout, the pipeline, the draw and slider and the recipes;
``qt_augment_preview`` the live preview and A/B playback, ``qt_augment_export`` "Add to project"
and the batch export.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QElapsedTimer, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QGridLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QMessageBox,
                               QProgressDialog, QPushButton, QRadioButton, QSlider, QSpinBox, QVBoxLayout,
                               QWidget)

from clinaudio_gui.augment import (AUDIO, REGISTRY, SPECTROGRAM, BUILTIN_RECIPES, Compose, OneOf, Recipe,
                                   load_recipe, rng_for, save_recipe)
from clinaudio_gui.augment.recipes import DEFAULT_FEATURES
from clinaudio_gui.ui.qt_augment_export import QtAugmentExportMixin, QtBatchWorker
from clinaudio_gui.ui.qt_augment_preview import QtAugmentPreviewMixin, QtPreviewRelay, warm_preview_thread

SLIDER_STEPS = 1000


def _leaf_names(domain: str) -> list[str]:
    return sorted(n for n, c in REGISTRY.items() if n not in ("Compose", "OneOf") and c.domain == domain)


class QtAugmentPanel(QtAugmentPreviewMixin, QtAugmentExportMixin, QWidget):
    previewUpdated = Signal(float)       # milliseconds the last preview took
    batchFinished = Signal(object)       # BatchResult

    def __init__(self, main_window):
        super().__init__()
        self.mw = main_window
        self.domain = AUDIO
        self.transforms: dict[str, object] = {}     # name -> configured transform instance
        self.seed = 0
        self.params: dict | None = None              # the current (possibly frozen) draw
        self.original: np.ndarray | None = None     # clip being previewed
        self.augmented: np.ndarray | None = None
        self.sample_rate_hz = 0
        self.clip_start_s = 0.0
        self.last_preview_ms = 0.0
        self.last_saved_path: Path | None = None
        self._playing = False
        self._play_timer = QElapsedTimer()
        self._play_from_s = 0.0
        self._batch_thread: QThread | None = None
        self._batch_worker: QtBatchWorker | None = None
        self._progress: QProgressDialog | None = None
        self._finished_batches: list = []
        self._pools: dict[tuple[str, str], list[str]] = {}
        self._loaded_recipe: Recipe | None = None
        self._updating = False
        self._build()
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(0)
        self._redraw_timer.timeout.connect(self._recompute)
        from concurrent.futures import ThreadPoolExecutor
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clinaudio-augment-preview")
        self._relay = QtPreviewRelay(self)
        self._relay.done.connect(self._on_computed)
        self._pool.submit(warm_preview_thread)
        self._busy = self._pending = False
        self._token = 0
        self._t_request = 0.0
        if hasattr(main_window, "recordingChanged"):
            main_window.recordingChanged.connect(self.reload_clip)
        self._fill_list()
        self.reload_clip()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.domain_box = QComboBox()
        self.domain_box.addItems([AUDIO, SPECTROGRAM])
        self.domain_box.currentTextChanged.connect(self.set_domain)
        top.addWidget(QLabel("Domain"))
        top.addWidget(self.domain_box)
        self.recipe_box = QComboBox()
        self.recipe_box.addItem("(recipe)")
        self.recipe_box.addItems(list(BUILTIN_RECIPES))
        self.recipe_box.activated.connect(self._builtin_chosen)
        top.addWidget(self.recipe_box)
        lay.addLayout(top)

        self.list = QListWidget()
        self.list.setMaximumHeight(170)
        self.list.itemChanged.connect(self._item_toggled)
        self.list.currentItemChanged.connect(lambda *_: self._show_settings())
        lay.addWidget(self.list)

        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.form.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.form_host)

        srow = QHBoxLayout()
        self.slider_label = QLabel("value")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider_value = QLabel("")
        self.slider_value.setMinimumWidth(70)
        srow.addWidget(self.slider_label)
        srow.addWidget(self.slider, 1)
        srow.addWidget(self.slider_value)
        lay.addLayout(srow)

        row = QGridLayout()      # two columns: the dock stays narrow (the window fits 1280x800)
        self.draw_button = QPushButton("New random draw")
        self.draw_button.clicked.connect(self.new_draw)
        self.freeze_box = QCheckBox("Freeze")
        self.freeze_box.setToolTip("keep the current draw while settings change")
        self.freeze_box.toggled.connect(lambda on: self.draw_button.setEnabled(not on))
        row.addWidget(self.draw_button, 0, 0)
        row.addWidget(self.freeze_box, 0, 1)
        self.scope_whole = QRadioButton("Whole recording")
        self.scope_sel = QRadioButton("Selected segment")
        self.scope_whole.setChecked(True)
        grp = QButtonGroup(self)
        grp.addButton(self.scope_whole)
        grp.addButton(self.scope_sel)
        self.scope_whole.toggled.connect(lambda _: self.reload_clip())
        row.addWidget(self.scope_whole, 1, 0)
        row.addWidget(self.scope_sel, 1, 1)
        self.splice_box = QCheckBox("splice into recording")
        self.splice_box.setChecked(True)
        self.splice_box.setToolTip("Add to project: augment only the selected segment and keep the rest of the "
                                   "recording around it (later labels move with any length change)")
        row.addWidget(self.splice_box, 2, 0, 1, 2)
        lay.addLayout(row)

        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setMinimumHeight(260)
        self.wave_plot = self.glw.addPlot(row=0, col=0)
        self.wave_plot.setMenuEnabled(False)
        self.wave_plot.setLabel("left", "amplitude")
        self.wave_plot.setDownsampling(auto=True, mode="peak")
        self.wave_plot.setClipToView(True)
        self.wave_a = self.wave_plot.plot(pen=pg.mkPen((150, 150, 150, 140)))
        self.wave_b = self.wave_plot.plot(pen=pg.mkPen((60, 170, 255)))
        self.spec_plot = self.glw.addPlot(row=1, col=0)
        self.spec_plot.setMenuEnabled(False)
        self.spec_plot.setLabel("bottom", "time", units="s")
        self.spec_img = pg.ImageItem(axisOrder="row-major")
        self.spec_img.setColorMap(pg.colormap.get("viridis"))
        self.spec_plot.addItem(self.spec_img)
        lay.addWidget(self.glw, 1)

        prow = QHBoxLayout()
        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(self.toggle_play)
        self.ab_a = QRadioButton("A original")
        self.ab_b = QRadioButton("B augmented")
        self.ab_b.setChecked(True)
        abg = QButtonGroup(self)
        abg.addButton(self.ab_a)
        abg.addButton(self.ab_b)
        self.ab_b.toggled.connect(self._ab_switched)
        self.timing_label = QLabel("")
        prow.addWidget(self.play_button)
        prow.addWidget(self.ab_a)
        prow.addWidget(self.ab_b)
        prow.addStretch(1)
        lay.addLayout(prow)
        self.timing_label.setAlignment(Qt.AlignmentFlag.AlignRight)
        lay.addWidget(self.timing_label)

        brow = QGridLayout()
        for i, (text, slot) in enumerate((("Save recipe...", self._save_recipe_dialog),
                                          ("Load recipe...", self._load_recipe_dialog),
                                          ("Add to project", self.add_to_project),
                                          ("Batch export...", self._batch_dialog))):
            b = QPushButton(text)
            b.clicked.connect(slot)
            brow.addWidget(b, i // 2, i % 2)
            setattr(self, "button_" + text.split()[0].lower(), b)
        lay.addLayout(brow)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        lay.addWidget(self.info)

    # ------------------------------------------------------------------ pipeline model
    def _fill_list(self, enabled: list[str] | None = None) -> None:
        self._updating = True
        self.list.clear()
        for name in _leaf_names(self.domain):
            if name not in self.transforms or self.transforms[name].domain != self.domain:
                self.transforms[name] = REGISTRY[name]()
            it = QListWidgetItem(f"{name} - {REGISTRY[name].summary}")
            it.setData(Qt.ItemDataRole.UserRole, name)
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(Qt.CheckState.Checked if enabled and name in enabled else Qt.CheckState.Unchecked)
            self.list.addItem(it)
        self.list.setCurrentRow(0)
        self._updating = False
        self._show_settings()

    def enabled_names(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def set_enabled(self, names: list[str]) -> None:
        """Tick exactly these transforms (others unticked) and redraw."""
        self._updating = True
        for i in range(self.list.count()):
            it = self.list.item(i)
            it.setCheckState(Qt.CheckState.Checked if it.data(Qt.ItemDataRole.UserRole) in names
                             else Qt.CheckState.Unchecked)
        self._updating = False
        self._pipeline_changed()

    def select_transform(self, name: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == name:
                self.list.setCurrentRow(i)
                return
        raise ValueError(f"transform {name!r} is not in the {self.domain} list")

    def selected_name(self) -> str | None:
        it = self.list.currentItem()
        return it.data(Qt.ItemDataRole.UserRole) if it is not None else None

    def pipeline(self):
        """The loaded recipe's own pipeline (OneOf structure and all) until something is
        changed in the panel; then a Compose of the ticked transforms."""
        if self._loaded_recipe is not None:
            return self._loaded_recipe.pipeline
        return Compose([self.transforms[n] for n in self.enabled_names()])

    def recipe(self, name: str = "panel") -> Recipe:
        return Recipe(name, self.pipeline(), "made in the augmentation panel",
                      features=dict(DEFAULT_FEATURES) if self.domain == SPECTROGRAM else None)

    def set_domain(self, domain: str) -> None:
        if domain not in (AUDIO, SPECTROGRAM):
            raise ValueError(f"domain={domain!r} must be {AUDIO!r} or {SPECTROGRAM!r}")
        if self.domain_box.currentText() != domain:
            self.domain_box.setCurrentText(domain)   # re-enters through the signal
            return
        self.domain = domain
        self.params = None
        self._fill_list()
        self.reload_clip()

    def _item_toggled(self, _item) -> None:
        if not self._updating:
            self._pipeline_changed()

    def _pipeline_changed(self) -> None:
        """The set of transforms changed: a frozen draw no longer fits, so draw again."""
        self.params = None
        self._loaded_recipe = None
        self._redraw()

    def _setting_changed(self, name: str, key: str, value) -> None:
        t = self.transforms[name]
        kw = t.settings()
        kw[key] = value
        try:
            new = type(t)(p=t.p if key != "p" else value, **{k: v for k, v in kw.items() if k != "p"})
        except ValueError as e:
            self.info.setText(str(e))
            return
        self.transforms[name] = new
        self._loaded_recipe = None
        self.info.setText("")
        if not self.freeze_box.isChecked():
            self.params = None
        self._sync_slider()
        self._redraw()

    def _show_settings(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        name = self.selected_name()
        if name is None:
            return
        t = self.transforms[name]
        for q in t.PARAMS:
            v = getattr(t, q.name)
            label = f"{q.name} [{q.unit}]" if q.unit else q.name
            if q.kind == "float":
                w = QDoubleSpinBox()
                w.setDecimals(3)
                w.setRange(q.low if q.low is not None else -1e6, q.high if q.high is not None else 1e6)
                w.setSingleStep(0.1)
                w.setValue(v)
                w.setKeyboardTracking(False)
                w.valueChanged.connect(lambda val, n=name, k=q.name: self._setting_changed(n, k, float(val)))
            elif q.kind == "int":
                w = QSpinBox()
                w.setRange(int(q.low if q.low is not None else -10**6), int(q.high if q.high is not None else 10**6))
                w.setValue(v)
                w.valueChanged.connect(lambda val, n=name, k=q.name: self._setting_changed(n, k, int(val)))
            elif q.kind == "choice":
                w = QComboBox()
                w.addItems([str(c) for c in q.choices])
                w.setCurrentText(str(v))
                w.currentTextChanged.connect(lambda val, n=name, k=q.name: self._setting_changed(n, k, val))
            elif q.kind == "bool":
                w = QCheckBox()
                w.setChecked(bool(v))
                w.toggled.connect(lambda val, n=name, k=q.name: self._setting_changed(n, k, bool(val)))
            else:   # lists / paths: comma-separated text
                w = QLineEdit(", ".join(str(x) for x in (v or [])))
                w.editingFinished.connect(lambda n=name, k=q.name, e=w, kind=q.kind: self._list_edited(n, k, e, kind))
            w.setToolTip(q.help)
            self.form.addRow(label, w)
        pw = QDoubleSpinBox()
        pw.setRange(0.0, 1.0)
        pw.setSingleStep(0.1)
        pw.setValue(t.p)
        pw.setKeyboardTracking(False)
        pw.valueChanged.connect(lambda val, n=name: self._setting_changed(n, "p", float(val)))
        pw.setToolTip("probability of applying it")
        self.form.addRow("p [probability]", pw)
        self._sync_slider()

    def _list_edited(self, name: str, key: str, edit: QLineEdit, kind: str) -> None:
        parts = [s.strip() for s in edit.text().split(",") if s.strip()]
        if kind == "list":
            try:
                val = [float(s) for s in parts] or None
            except ValueError:
                self.info.setText(f"{key}={edit.text()!r} must be numbers separated by commas")
                return
        else:
            val = parts
        self._setting_changed(name, key, val)

    # ------------------------------------------------------------------ draws and the slider
    def _same_class_paths(self, path: Path) -> list[str]:
        """Other recordings of the project with the current record label (for MixSameClass),
        cached per folder and label; the label comes from the open annotations."""
        from clinaudio_gui.augment.batch import class_of
        project = self.mw.project()
        ann = self.mw.current_annotations()
        label = (ann.record_label if ann is not None else None) or Path(path).parent.name
        folder = project.folder if project is not None else Path(path).parent
        key = (str(folder), label)
        if key not in self._pools:
            recs = project.recordings() if project is not None else sorted(Path(path).parent.glob("*.*"))
            self._pools[key] = [str(p) for p in recs if p.resolve() != Path(path).resolve()
                                and p.suffix.lower() in (".wav", ".flac", ".ogg", ".mp3")
                                and class_of(p) == label]
        return self._pools[key]

    def _draw(self) -> dict:
        # the draw number is the copy index: a cycling OneOf (naa) shows technique k on draw k
        ctx: dict = {"index": self.seed}
        path = self.mw.current_path() if hasattr(self.mw, "current_path") else None
        if path is not None:
            ctx["source_path"] = str(path)
            if "MixSameClass" in self.enabled_names() and not self.transforms["MixSameClass"].partner_paths:
                ctx["same_class_paths"] = self._same_class_paths(path)
        return self.pipeline().randomize(rng_for(self.seed, "panel"), ctx)

    def new_draw(self) -> None:
        self.seed += 1
        self.params = None
        self._redraw()

    def _child_params(self, name: str) -> dict | None:
        """The {"applied", "params"} entry of leaf ``name`` in the current draw (Compose
        children or a OneOf's choice, at any depth), or None."""
        def find(p):
            if not isinstance(p, dict):
                return None
            if "children" in p:
                for c in p["children"]:
                    if c.get("name") == name:
                        return c
                    hit = find(c.get("params"))
                    if hit is not None:
                        return hit
            elif "choice" in p:
                if p.get("name") == name:
                    return p
                return find(p.get("params"))
            return None
        return find(self.params)

    def _slider_spec(self):
        name = self.selected_name()
        if name is None:
            return None
        t = self.transforms[name]
        key = t.slider_param
        if key is None or not hasattr(t, "slider_range"):
            return None
        lo, hi = t.slider_range()
        return name, key, float(lo), float(hi)

    def _sync_slider(self) -> None:
        spec = self._slider_spec()
        self.slider.blockSignals(True)
        if spec is None:
            self.slider.setEnabled(False)
            self.slider_label.setText("value")
            self.slider_value.setText("")
        else:
            name, key, lo, hi = spec
            self.slider.setEnabled(hi > lo)
            self.slider_label.setText(key)
            c = self._child_params(name)
            v = c["params"].get(key) if c else None
            if v is not None and hi > lo:
                self.slider.setValue(int(round((float(v) - lo) / (hi - lo) * SLIDER_STEPS)))
            self.slider_value.setText(f"{v:.3g}" if isinstance(v, (int, float)) else "")
        self.slider.blockSignals(False)

    def set_slider_value(self, value: float) -> None:
        """Set the selected transform's drawn value (as the slider does) and redraw."""
        spec = self._slider_spec()
        if spec is None:
            raise ValueError(f"{self.selected_name()} has no value to slide")
        _, _, lo, hi = spec
        pos = int(round((value - lo) / (hi - lo) * SLIDER_STEPS))
        if pos == self.slider.value():
            self._slider_moved(pos)        # no valueChanged when it is already there
        else:
            self.slider.setValue(pos)

    def _slider_moved(self, pos: int) -> None:
        spec = self._slider_spec()
        if spec is None:
            return
        name, key, lo, hi = spec
        if name not in self.enabled_names():
            self.set_enabled(self.enabled_names() + [name])
        if self.params is None:
            self.params = self._draw()
        c = self._child_params(name)
        if c is None:        # a loaded recipe's draw without this transform: switch to the panel's own
            self._loaded_recipe = None
            self.params = self._draw()
            c = self._child_params(name)
        value = lo + (hi - lo) * pos / SLIDER_STEPS
        c["params"][key] = value
        c["applied"] = True          # sliding a transform means seeing it
        self.slider_value.setText(f"{value:.3g}")
        self._redraw()

    # ------------------------------------------------------------------ recipes
    def load_recipe_into_panel(self, recipe: Recipe) -> None:
        """Show a recipe's transforms (Compose / OneOf children, flattened) with its settings."""
        leaves = []

        def walk(t):
            if isinstance(t, (Compose, OneOf)):
                for c in t.transforms:
                    walk(c)
            else:
                leaves.append(t)
        walk(recipe.pipeline)
        self.domain_box.blockSignals(True)
        self.domain_box.setCurrentText(recipe.domain)
        self.domain_box.blockSignals(False)
        self.domain = recipe.domain
        for t in leaves:      # the panel holds one instance per kind: the last one of a kind wins
            self.transforms[t.name] = t
        self._fill_list(enabled=[t.name for t in leaves])
        if isinstance(recipe.pipeline, OneOf) or any(isinstance(c, (Compose, OneOf))
                                                     for c in getattr(recipe.pipeline, "transforms", [])):
            self.info.setText(f"recipe {recipe.name}: previewed as it is (a OneOf applies one technique per draw; "
                              "'New random draw' steps through them); changing anything switches to the "
                              "ticked transforms")
        self.params = None
        self._loaded_recipe = recipe      # batch export uses it exactly until something is changed
        self.reload_clip()

    def _builtin_chosen(self, i: int) -> None:
        if i <= 0:
            return
        name = self.recipe_box.itemText(i)
        self.load_recipe_into_panel(load_recipe(name))

    def save_recipe_to(self, path: str | Path) -> Path:
        r = self.recipe(Path(path).stem)
        return save_recipe(path, r)

    def _save_recipe_dialog(self) -> None:
        fn, _ = QFileDialog.getSaveFileName(self, "Save recipe", "recipe.json", "Recipe (*.json)")
        if fn:
            self.save_recipe_to(fn)
            self.mw.status(f"recipe saved to {fn}")

    def _load_recipe_dialog(self) -> None:
        fn, _ = QFileDialog.getOpenFileName(self, "Load recipe", "", "Recipe (*.json)")
        if fn:
            try:
                r = load_recipe(fn)
            except ValueError as e:
                QMessageBox.warning(self, "Recipe", str(e))
                return
            self.load_recipe_into_panel(r)

    # ------------------------------------------------------------------ batch export
    def closeEvent(self, ev):
        self.cancel_batch()
        self._finish_thread()
        super().closeEvent(ev)

