"""The timeline: overview strip, waveform and spectrogram sharing one time axis (s), segments.

Views follow the model (napari style): the AnnotationSet is the only state for segments; the
timeline subscribes to it and updates its items in place, and every user edit goes back through
AnnotationSet commands (a drag of an edge is one ``gesture`` = one undo step).

Speed (pyqtgraph habits): the waveform is drawn from a min/max pyramid (about two bins per
pixel), raw samples only when zoomed in; the spectrogram is made of tiles (ImageItem with fixed
levels + LUT, ``setRect`` in seconds / Hz) computed in a worker thread, visible range first, and
cached; while a tile computes, a coarser cached tile stands in for it.

Split by job: this module builds the plots and holds the state, the set-up and the view range;
``qt_timeline_draw`` draws (waveform, tiles, playhead, segment items) and ``qt_timeline_edit``
handles the mouse and the AnnotationSet's events.
"""
from __future__ import annotations

import logging
import sys
from collections import OrderedDict
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from clinaudio_gui.core import AnnotationSet, LabelSchema, Segment
from clinaudio_gui.ui.qt_timeline_draw import QtFreqAxis, QtTimelineDrawingMixin, colormap_lut
from clinaudio_gui.ui.qt_timeline_edit import QtTimelineEditingMixin, QtTimeViewBox
from clinaudio_gui.ui.qt_workers import QtPyramidBuilder, QtTileWorker
from clinaudio_gui.ui.spectro import BlockReader, MinMaxPyramid, SpectroSettings, row_freqs_hz

log = logging.getLogger(__name__)


class QtTimeline(QtTimelineDrawingMixin, QtTimelineEditingMixin, QWidget):
    """Overview + waveform + spectrogram + suggestion track for one recording."""

    selectionChanged = Signal(object)        # segment id or None
    suggestionSelected = Signal(object)      # suggestion index or None
    viewChanged = Signal(float, float)
    fullyDrawn = Signal()
    levelsChosen = Signal(float, float)
    message = Signal(str)
    cursorMoved = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.schema: LabelSchema | None = None
        self.annotations: AnnotationSet | None = None
        self.reader: BlockReader | None = None
        self.pyramid: MinMaxPyramid | None = None
        self.settings = SpectroSettings()
        self.duration_s = 0.0
        self.sample_rate_hz = 1
        self.active_label = ""
        self.selected_id: str | None = None
        self.cursor_s = 0.0
        self.suggestions: list[Segment] = []
        self._token = 0
        self._cache: OrderedDict = OrderedDict()
        self._cache_bytes = 0
        self._images: dict[tuple, pg.ImageItem] = {}
        self._image_pool: list[pg.ImageItem] = []
        self._wanted: list[tuple[int, int]] = []
        self._level = 0
        self._seg_items: dict[str, dict] = {}
        self._sugg_items: list = []
        self._unsubscribe = None
        self._gesture: ExitStack | None = None
        self._gesture_sid: str | None = None
        self._drag_item = None
        self._builder: QtPyramidBuilder | None = None
        self._was_drawn = False
        self._lut = colormap_lut(self.settings.colormap)
        self._levels_fixed = False
        self._peak = 1.0
        self._updating_region = False
        self._loading = False

        # the GUI thread must get the GIL back quickly while the tile / pyramid workers run
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        self.worker = QtTileWorker()
        self.worker.tileReady.connect(self._on_tile)
        self.worker.tileFailed.connect(lambda _t, m: self.message.emit(m))

        self.glw = pg.GraphicsLayoutWidget()
        self.glw.ci.layout.setSpacing(2)
        self.glw.ci.setContentsMargins(4, 4, 8, 4)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.glw)

        axis_w = self._axis_w = 58
        # overview
        self.overview = self.glw.addPlot(row=0, col=0)
        self.overview.setMouseEnabled(x=False, y=False)
        self.overview.setMenuEnabled(False)
        self.overview.hideButtons()
        self.overview.getAxis("bottom").setStyle(showValues=False)
        self.overview.getAxis("bottom").setHeight(4)
        self.overview.getAxis("left").setWidth(axis_w)
        self.overview.getAxis("left").setStyle(showValues=False)
        self.overview.setLabel("left", "overview")
        self.overview.setMaximumHeight(56)
        self.overview_curve = pg.PlotCurveItem(pen=pg.mkPen("#7f8c99", width=1))
        self.overview.addItem(self.overview_curve)
        self.overview_region = pg.LinearRegionItem(brush=pg.mkBrush(70, 140, 220, 60),
                                                   pen=pg.mkPen("#4a90d9", width=1.5))
        self.overview_region.setZValue(10)
        self.overview.addItem(self.overview_region)
        self.overview_region.sigRegionChanged.connect(self._overview_region_moved)
        self.overview_segments = pg.PlotCurveItem()
        self.overview_playhead = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#e53935", width=1))
        self.overview.addItem(self.overview_playhead)

        # waveform
        self.wave_vb = QtTimeViewBox()
        self.wave = self.glw.addPlot(row=1, col=0, viewBox=self.wave_vb)
        self.wave.hideButtons()
        self.wave.getAxis("left").setWidth(axis_w)
        self.wave.setLabel("left", "amplitude")
        self.wave.getAxis("bottom").setStyle(showValues=False)
        self.wave.showGrid(x=True, y=False, alpha=0.15)
        self.wave_curve = pg.PlotCurveItem(pen=pg.mkPen("#2e7dd7", width=1))
        self.wave.addItem(self.wave_curve)
        self.wave_zero = pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen(128, 128, 128, 80))
        self.wave.addItem(self.wave_zero)

        # spectrogram
        self.freq_axis = QtFreqAxis("left")
        self.spec_vb = QtTimeViewBox()
        self.spec = self.glw.addPlot(row=2, col=0, viewBox=self.spec_vb, axisItems={"left": self.freq_axis})
        self.spec.hideButtons()
        self.freq_axis.setWidth(axis_w)
        self.spec.setLabel("left", "frequency (Hz)")
        self.spec.setLabel("bottom", "time (s)")
        self.spec.setXLink(self.wave)

        # suggestion track
        self.sugg_vb = QtTimeViewBox()
        self.sugg_vb.enable_labeling = False
        self.sugg = self.glw.addPlot(row=3, col=0, viewBox=self.sugg_vb)
        self.sugg.hideButtons()
        self.sugg.getAxis("left").setWidth(axis_w)
        self.sugg.getAxis("left").setStyle(showValues=False)
        self.sugg.setLabel("left", "model")
        self.sugg.getAxis("bottom").setStyle(showValues=False)
        self.sugg.getAxis("bottom").setHeight(4)
        self.sugg.setMaximumHeight(44)
        self.sugg.setYRange(0, 1, padding=0)
        self.sugg.setXLink(self.wave)
        self.sugg.hide()
        self.sugg_vb.clicked.connect(self._sugg_clicked)

        for plot in (self.overview, self.wave, self.spec, self.sugg):
            for ax in ("left", "bottom"):
                # no SI-prefix relabelling on every range change (an HTML relayout per axis per pan)
                plot.getAxis(ax).enableAutoSIPrefix(False)
        self.glw.ci.layout.setRowStretchFactor(1, 2)
        self.glw.ci.layout.setRowStretchFactor(2, 3)

        self.playheads = []
        for p in (self.wave, self.spec, self.sugg):
            line = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#e53935", width=1.5))
            line.setZValue(50)
            line.hide()
            p.addItem(line)
            self.playheads.append(line)
        self.cursor_lines = []
        for p in (self.wave, self.spec):
            line = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen(200, 200, 200, 120, style=Qt.PenStyle.DashLine))
            line.setZValue(40)
            p.addItem(line)
            self.cursor_lines.append(line)

        for vb in (self.wave_vb, self.spec_vb):
            vb.dragged.connect(self._on_drag)
            vb.clicked.connect(self._on_click)
        self.wave_vb.sigXRangeChanged.connect(self._on_range_changed)
        self.wave_vb.sigResized.connect(self._on_range_changed)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        self._pending_request = None
        self._request_timer = QTimer(self)
        self._request_timer.setSingleShot(True)
        self._request_timer.setInterval(8)
        self._request_timer.timeout.connect(self._send_request)

    # ------------------------------------------------------------------ set-up
    def set_recording(self, path: Path, annotations: AnnotationSet, schema: LabelSchema,
                      settings: SpectroSettings | None = None, *, initial_span_s: float = 120.0) -> None:
        self.close_recording()
        self._token += 1
        self._loading = True       # no drawing at the old view range while setting up
        self.reader = BlockReader(path)
        self.duration_s = self.reader.frames / self.reader.sample_rate_hz
        self.sample_rate_hz = self.reader.sample_rate_hz
        self.schema = schema
        if settings is not None:
            self.settings = settings
        if self.settings.f_max_hz > self.sample_rate_hz / 2:
            self.settings = self.settings.replace(f_max_hz=float(self.sample_rate_hz / 2))
        self._levels_fixed = not self.settings.auto_db
        self._lut = colormap_lut(self.settings.colormap)
        self.pyramid = MinMaxPyramid(self.reader.frames)
        self._builder = QtPyramidBuilder(self.reader, self.pyramid)
        self._builder.progress.connect(self._on_pyramid_progress)
        self._builder.failed.connect(self.message.emit)
        self._builder.start()
        self.annotations = annotations
        self._unsubscribe = annotations.subscribe(self._on_model_event)
        if not self.active_label or self.active_label not in schema.names:
            self.active_label = schema.names[0] if schema.names else ""
        span = self.duration_s if self.duration_s <= initial_span_s else min(60.0, self.duration_s)
        for p in (self.wave, self.spec, self.sugg):
            p.setLimits(xMin=0, xMax=self.duration_s, minXRange=min(0.005, self.duration_s),
                        maxXRange=self.duration_s)
        # limits first: the old recording's limits would clamp the new range (a 15 s file after a
        # 9 s one showed 0-9 s, its later events missing and the view rectangle wrong)
        self.overview.setLimits(xMin=0, xMax=self.duration_s)
        self.overview.setXRange(0, self.duration_s, padding=0)
        self.overview_region.setBounds((0, self.duration_s))
        self._apply_freq_axis()
        # first peek at the visible start for the amplitude range
        head = self.reader.read(0, min(self.reader.frames, int(span * self.sample_rate_hz), 2_000_000))
        # a robust amplitude range: one click must not flatten the breath sounds
        mag = np.abs(head) if head.size else np.ones(1, np.float32)
        self._peak = float(max(1e-4, min(mag.max(), 3.0 * np.percentile(mag, 99.5))))
        self.wave.setYRange(-self._peak * 1.05, self._peak * 1.05, padding=0)
        self._was_drawn = False
        self.wave.setXRange(0, span, padding=0)
        self._loading = False
        self.suggestions = []
        self._rebuild_suggestions()
        self._rebuild_segments()
        self.set_cursor(0.0)
        self.refresh()

    def close_recording(self) -> None:
        if self._builder is not None:
            self._builder.cancel()
            self._builder = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._end_gesture()
        for items in self._seg_items.values():
            self._remove_seg_items(items)
        self._seg_items = {}
        self._clear_images()
        self._cache.clear()
        self._cache_bytes = 0
        self.annotations = None
        self.selected_id = None
        if self.reader is not None:
            self.reader.close()
        self.reader = None
        self.pyramid = None

    def shutdown(self) -> None:
        self.close_recording()
        self.worker.stop()

    def set_settings(self, settings: SpectroSettings) -> None:
        old = self.settings
        self.settings = settings
        if settings.colormap != old.colormap:
            self._lut = colormap_lut(settings.colormap)
        if settings.compute_key() != old.compute_key():
            self._token += 1
            self._clear_images()
            self._cache.clear()
            self._cache_bytes = 0
            self._levels_fixed = not settings.auto_db
            self._apply_freq_axis()
            self._rebuild_segments()
        elif settings.auto_db and not old.auto_db:
            self._levels_fixed = False
        else:
            self._levels_fixed = self._levels_fixed or not settings.auto_db
        for img in self._images.values():
            img.setLookupTable(self._lut)
            img.setLevels((settings.db_min, settings.db_max))
        self.refresh()

    def _apply_freq_axis(self) -> None:
        s = self.settings
        f_max = min(s.f_max_hz, self.sample_rate_hz / 2)
        if s.kind == "stft":
            self.freq_axis.set_freqs(None)
            self.spec.setYRange(s.f_min_hz, f_max, padding=0)
        elif self.reader is None:
            # no recording yet (sample rate unknown): the band axis is set when one is opened
            self.freq_axis.set_freqs(None)
            self.spec.setYRange(0, s.n_bands, padding=0)
        else:
            freqs = row_freqs_hz(s, self.sample_rate_hz)
            self.freq_axis.set_freqs(freqs)
            self.spec.setYRange(0, s.n_bands, padding=0)

    # ------------------------------------------------------------------ view range
    def visible_range(self) -> tuple[float, float]:
        x0, x1 = self.wave_vb.viewRange()[0]
        return max(0.0, x0), min(self.duration_s, x1)

    def set_visible_range(self, t0: float, t1: float) -> None:
        span = max(1e-3, t1 - t0)
        t0 = min(max(0.0, t0), max(0.0, self.duration_s - span))
        self.wave.setXRange(t0, min(self.duration_s, t0 + span), padding=0)

    def zoom(self, factor: float, center_s: float | None = None) -> None:
        t0, t1 = self.visible_range()
        c = (t0 + t1) / 2 if center_s is None else center_s
        span = min(self.duration_s, max(0.005, (t1 - t0) / factor))
        self.set_visible_range(c - span * (c - t0) / max(1e-9, t1 - t0), c - span * (c - t0) / max(1e-9, t1 - t0) + span)

    def pan(self, fraction: float) -> None:
        t0, t1 = self.visible_range()
        d = (t1 - t0) * fraction
        self.set_visible_range(t0 + d, t1 + d)

    def _on_range_changed(self, *_):
        self.refresh()
        t0, t1 = self.visible_range()
        self.viewChanged.emit(t0, t1)

    def _overview_region_moved(self):
        if self._updating_region or self.reader is None:
            return
        a, b = self.overview_region.getRegion()
        self.wave.setXRange(a, b, padding=0)

    def pixel_width(self) -> int:
        return max(100, int(self.wave_vb.width()))
