"""The timeline: overview strip, waveform and spectrogram sharing one time axis (s), segments.

Views follow the model (napari style): the AnnotationSet is the only state for segments; the
timeline subscribes to it and updates its items in place, and every user edit goes back through
AnnotationSet commands (a drag of an edge is one ``gesture`` = one undo step).

Speed (pyqtgraph habits): the waveform is drawn from a min/max pyramid (about two bins per
pixel), raw samples only when zoomed in; the spectrogram is made of tiles (ImageItem with fixed
levels + LUT, ``setRect`` in seconds / Hz) computed in a worker thread, visible range first, and
cached; while a tile computes, a coarser cached tile stands in for it.
"""
from __future__ import annotations

import logging
import math
import sys
from collections import OrderedDict
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QVBoxLayout, QWidget

from clinaudio_gui.core import AnnotationSet, LabelSchema, Segment
from clinaudio_gui.ui.qt_workers import QtPyramidBuilder, QtTileWorker
from clinaudio_gui.ui.spectro import (TILE_COLUMNS, BlockReader, MinMaxPyramid, SpectroSettings,
                                      level_for, row_freqs_hz, tile_span_frames)

log = logging.getLogger(__name__)

CACHE_BYTES = 256 * 1024 * 1024
RAW_SAMPLES_PER_PIXEL = 64      # below this, draw the samples themselves


def colormap_lut(name: str) -> np.ndarray:
    if name == "grey":
        v = np.arange(256, dtype=np.uint8)
        return np.stack([v, v, v, np.full(256, 255, np.uint8)], axis=1)
    try:
        cmap = pg.colormap.get(name)
    except Exception:  # noqa: BLE001
        cmap = pg.colormap.get("viridis")
    return cmap.getLookupTable(0.0, 1.0, 256, alpha=True)


class QtFreqAxis(pg.AxisItem):
    """Left axis of the spectrogram in Hz; for mel / gammatone / CWT rows the y coordinate is
    the row index, and the ticks are placed at round Hz values through the row->Hz mapping."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.freqs: np.ndarray | None = None  # None: y is Hz

    def set_freqs(self, freqs: np.ndarray | None) -> None:
        self.freqs = None if freqs is None else np.asarray(freqs, np.float64)
        self.picture = None
        self.update()

    def row_of_hz(self, hz):
        if self.freqs is None:
            return hz
        return np.interp(hz, self.freqs, np.arange(self.freqs.shape[0]) + 0.5)

    def hz_of_row(self, row):
        if self.freqs is None:
            return row
        return np.interp(row, np.arange(self.freqs.shape[0]) + 0.5, self.freqs)

    def tickValues(self, minVal, maxVal, size):
        if self.freqs is None:
            return super().tickValues(minVal, maxVal, size)
        lo, hi = float(self.hz_of_row(minVal)), float(self.hz_of_row(maxVal))
        cands = [v * m for m in (1, 10, 100, 1000, 10000) for v in (1, 2, 5)]
        major = [c for c in cands if lo <= c <= hi]
        rows = [float(self.row_of_hz(c)) for c in major]
        keep, last = [], -1e9
        min_gap = (maxVal - minVal) * 18.0 / max(size, 1)
        for r in rows:
            if r - last >= min_gap:
                keep.append(r)
                last = r
        return [(1.0, keep)]

    def tickStrings(self, values, scale, spacing):
        out = []
        for v in values:
            hz = float(self.hz_of_row(v)) if self.freqs is not None else v * scale
            hz = round(hz, 1) if abs(hz) < 10 else round(hz)
            out.append(f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:g}")
        return out


class QtTimeViewBox(pg.ViewBox):
    """x-only zoom / pan; a left drag draws a new segment instead of panning (Ctrl+drag or the
    middle button pans); a left click selects."""

    dragged = Signal(object, object, object, int)   # phase ("start"|"move"|"finish"), p0, p1, shift (0/1)
    clicked = Signal(object, object)                 # view point, modifiers

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.setMouseEnabled(x=True, y=False)
        self.setMenuEnabled(False)
        self.enable_labeling = True

    def mouseDragEvent(self, ev, axis=None):
        mods = ev.modifiers()
        if (self.enable_labeling and ev.button() == Qt.MouseButton.LeftButton
                and not (mods & Qt.KeyboardModifier.ControlModifier)):
            ev.accept()
            p0 = self.mapSceneToView(ev.buttonDownScenePos())
            p1 = self.mapSceneToView(ev.scenePos())
            shift = 1 if (mods & Qt.KeyboardModifier.ShiftModifier) else 0
            phase = "start" if ev.isStart() else ("finish" if ev.isFinish() else "move")
            self.dragged.emit(phase, p0, p1, shift)
            return
        if ev.button() == Qt.MouseButton.RightButton:
            ev.ignore()
            return
        if ev.button() == Qt.MouseButton.LeftButton:
            # ctrl+left: pan like the middle button
            ev.accept()
            dif = self.mapToView(ev.lastPos()) - self.mapToView(ev.pos())
            self.translateBy(x=dif.x(), y=0)
            return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.clicked.emit(self.mapSceneToView(ev.scenePos()), ev.modifiers())
        else:
            ev.ignore()


class QtTimeline(QWidget):
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
        self.overview.setXRange(0, self.duration_s, padding=0)
        self.overview.setLimits(xMin=0, xMax=self.duration_s)
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

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> None:
        """Redraw the visible range: waveform now, spectrogram tiles from cache + requests."""
        if self.reader is None or self._loading:
            return
        t0, t1 = self.visible_range()
        self._updating_region = True
        self.overview_region.setRegion((t0, t1))
        self._updating_region = False
        self._draw_waveform(t0, t1)
        self._draw_spectrogram(t0, t1)
        self._check_drawn()

    def _draw_waveform(self, t0: float, t1: float) -> None:
        sr = self.sample_rate_hz
        w = self.pixel_width()
        a = max(0, int(t0 * sr) - 1)
        b = min(self.reader.frames, int(math.ceil(t1 * sr)) + 1)
        spp = (b - a) / w
        if spp <= RAW_SAMPLES_PER_PIXEL:
            y = self.reader.read(a, b)
            x = (np.arange(a, a + y.shape[0]) / sr)
            self.wave_curve.setData(x, y, connect="all")
            self._wave_ok = True
            return
        env = self.pyramid.envelope(a, b, 2 * w) if self.pyramid is not None else None
        if env is None:
            self._wave_ok = False
            if (b - a) <= 8_000_000:   # the builder has not got there yet: reduce the range directly
                y = self.reader.read(a, b)
                n = max(1, (b - a) // (2 * w))
                m = (y.shape[0] // n) * n
                r = y[:m].reshape(-1, n)
                lo, hi = r.min(axis=1), r.max(axis=1)
                starts = (a + np.arange(lo.shape[0]) * n).astype(np.float64)
                self._set_envelope(starts, lo, hi, n)
                self._wave_ok = True
            return
        starts, lo, hi, size = env
        self._set_envelope(starts, lo, hi, size)
        self._wave_ok = True

    def _set_envelope(self, starts, lo, hi, size) -> None:
        sr = self.sample_rate_hz
        x = np.repeat((starts + size / 2) / sr, 2)
        y = np.empty(x.shape[0], np.float32)
        y[0::2] = lo
        y[1::2] = hi
        self.wave_curve.setData(x, y, connect="all")

    def _on_pyramid_progress(self, filled: int, total: int) -> None:
        if self.pyramid is None:
            return
        env = self.pyramid.envelope(0, min(filled, total), 4000)
        if env is not None:
            starts, lo, hi, size = env
            n = int(math.ceil(min(filled, total) / size))
            x = np.repeat((starts[:n] + size / 2) / self.sample_rate_hz, 2)
            y = np.empty(x.shape[0], np.float32)
            y[0::2], y[1::2] = lo[:n], hi[:n]
            self.overview_curve.setData(x, y, connect="all")
            pk = float(max(np.abs(lo[:n]).max(initial=0), np.abs(hi[:n]).max(initial=0), 1e-4))
            self.overview.setYRange(-pk, pk, padding=0.05)
        if filled >= total:
            self._refresh_timer.start()

    def _draw_spectrogram(self, t0: float, t1: float) -> None:
        s = self.settings
        sr = self.sample_rate_hz
        fpp = (t1 - t0) * sr / self.pixel_width()
        level = level_for(s, fpp)
        self._level = level
        span = tile_span_frames(s, level)
        stride = span // TILE_COLUMNS
        n_tiles = int(math.ceil((self.reader.frames + stride) / span))
        k0 = max(0, int(math.floor((t0 * sr + stride / 2) / span)))
        k1 = min(n_tiles - 1, int(math.floor((t1 * sr + stride / 2) / span)))
        visible = list(range(k0, k1 + 1))
        mid = (k0 + k1) / 2
        visible.sort(key=lambda k: abs(k - mid))
        prefetch = [k for k in (k0 - 1, k1 + 1) if 0 <= k < n_tiles]
        ckey = s.compute_key()
        show: dict[tuple, object] = {}
        missing = []
        for k in visible:
            t = self._cache.get((ckey, level, k))
            if t is not None:
                self._cache.move_to_end((ckey, level, k))
                show[(level, k)] = t
            else:
                missing.append(k)
                # stand-ins: coarser cached tiles covering this one
                for up in range(1, 6):
                    kk = k >> up
                    tt = self._cache.get((ckey, level + up, kk))
                    if tt is not None:
                        show[(level + up, kk)] = tt
                        break
        wanted = [(level, k) for k in missing] + [(level, k) for k in prefetch
                                                   if (ckey, level, k) not in self._cache]
        if wanted != self._wanted:
            self._wanted = wanted
            # hand the request to the worker just after this repaint, not during it (GIL)
            self._pending_request = ((self._token, ckey), self.reader, s, wanted)
            self._request_timer.start()
        self._missing_visible = len(missing)
        # display
        for key in list(self._images):
            if key not in show:
                img = self._images.pop(key)
                img.hide()
                self._image_pool.append(img)
        for key, tile in show.items():
            img = self._images.get(key)
            if img is None:
                img = self._image_pool.pop() if self._image_pool else None
                if img is None:
                    img = pg.ImageItem(axisOrder="row-major")
                    img.setAutoDownsample(False)
                    self.spec.addItem(img)
                self._images[key] = img
                img.setZValue(-100 - key[0])   # finer levels above coarser stand-ins
                img.setImage(tile.image_db, autoLevels=False, levels=(s.db_min, s.db_max), lut=self._lut)
                if s.kind == "stft":
                    df = (tile.freqs_hz[1] - tile.freqs_hz[0]) if tile.freqs_hz.shape[0] > 1 else 1.0
                    y0, h = tile.freqs_hz[0] - df / 2, tile.freqs_hz.shape[0] * df
                else:
                    y0, h = 0.0, float(tile.image_db.shape[0])
                img.setRect(QRectF(tile.t0_s, y0, tile.t1_s - tile.t0_s, h))
                img.show()

    def _send_request(self) -> None:
        req, self._pending_request = self._pending_request, None
        if req is not None and self.reader is not None:
            self.worker.request(*req)

    def _on_tile(self, token, tile) -> None:
        if token != (self._token, self.settings.compute_key()) or self.reader is None:
            return
        ckey = token[1]
        if not self._levels_fixed and self.settings.auto_db:
            # once per recording: ceiling near the loudest, floor just under the noise floor
            lo_p, hi_p = np.percentile(tile.image_db, [10.0, 99.5])
            hi = math.ceil(float(hi_p) / 5.0) * 5.0
            lo = max(hi - 90.0, min(hi - 40.0, math.floor(float(lo_p) / 5.0) * 5.0 - 5.0))
            self._levels_fixed = True
            self.settings = self.settings.replace(db_max=hi, db_min=lo)
            self.levelsChosen.emit(self.settings.db_min, self.settings.db_max)
        nbytes = tile.image_db.nbytes
        self._cache[(ckey, tile.level, tile.index)] = tile
        self._cache_bytes += nbytes
        while self._cache_bytes > CACHE_BYTES and len(self._cache) > 1:
            _k, old = self._cache.popitem(last=False)
            self._cache_bytes -= old.image_db.nbytes
        if (tile.level, tile.index) in [w for w in self._wanted]:
            self._wanted = [w for w in self._wanted if w != (tile.level, tile.index)]
        self._refresh_timer.start()

    def _clear_images(self) -> None:
        for img in self._images.values():
            img.hide()
            self._image_pool.append(img)
        self._images = {}
        self._wanted = []

    def is_fully_drawn(self) -> bool:
        return (self.reader is not None and getattr(self, "_wave_ok", False)
                and getattr(self, "_missing_visible", 1) == 0)

    def overview_complete(self) -> bool:
        return self.pyramid is not None and self.pyramid.filled_frames >= self.pyramid.frames

    def _check_drawn(self) -> None:
        drawn = self.is_fully_drawn()
        if drawn and not self._was_drawn:
            self._was_drawn = True
            self.fullyDrawn.emit()
        elif not drawn:
            self._was_drawn = False

    # ------------------------------------------------------------------ playhead / cursor
    def set_playhead(self, t_s: float | None) -> None:
        for line in self.playheads:
            if t_s is None:
                line.hide()
            else:
                line.setValue(t_s)
                line.show()
        if t_s is not None:
            self.overview_playhead.setValue(t_s)
            t0, t1 = self.visible_range()
            if t_s > t1 or t_s < t0:   # follow the playhead page by page
                span = t1 - t0
                self.set_visible_range(t_s - span * 0.05, t_s + span * 0.95)

    def set_cursor(self, t_s: float) -> None:
        self.cursor_s = max(0.0, min(self.duration_s, t_s))
        for line in self.cursor_lines:
            line.setValue(self.cursor_s)
        self.overview_playhead.setValue(self.cursor_s)
        self.cursorMoved.emit(self.cursor_s)

    # ------------------------------------------------------------------ segments
    def hz_to_y(self, hz: float) -> float:
        return float(self.freq_axis.row_of_hz(hz))

    def y_to_hz(self, y: float) -> float:
        return float(self.freq_axis.hz_of_row(y))

    def _color(self, seg: Segment) -> QColor:
        return QColor(self.schema.color_of(seg.label) if self.schema else "#999999")

    def _rebuild_segments(self) -> None:
        for items in self._seg_items.values():
            self._remove_seg_items(items)
        self._seg_items = {}
        if self.annotations is None:
            return
        for seg in self.annotations.segments:
            self._seg_items[seg.id] = self._make_seg_items(seg)
        self._update_overview_segments()

    def _remove_seg_items(self, items: dict) -> None:
        for name, it in items.items():
            if it is None:
                continue
            plot = self.wave if name.startswith("w") else self.spec
            plot.removeItem(it)

    def _make_seg_items(self, seg: Segment) -> dict:
        items = {}
        region = pg.LinearRegionItem(values=(seg.start_s, seg.end_s), swapMode="block")
        region.setZValue(5)
        self.wave.addItem(region)
        label = pg.TextItem("", anchor=(0, 0))
        label.setZValue(30)
        self.wave.addItem(label)
        items["w_region"] = region
        items["w_label"] = label
        if seg.is_box:
            rect = QGraphicsRectItem()
            rect.setZValue(20)
            self.spec.addItem(rect)
            items["s_rect"] = rect
            items["s_region"] = None
        else:
            sreg = pg.LinearRegionItem(values=(seg.start_s, seg.end_s), swapMode="block")
            sreg.setZValue(20)
            self.spec.addItem(sreg)
            items["s_region"] = sreg
            items["s_rect"] = None
        for key in ("w_region", "s_region"):
            reg = items[key]
            if reg is None:
                continue
            reg.sigRegionChanged.connect(lambda r, sid=seg.id: self._edge_dragged(sid, r))
            reg.sigRegionChangeFinished.connect(lambda _r=None, sid=seg.id: self._edge_drag_finished(sid))
        self._style_seg_items(seg, items)
        return items

    def _style_seg_items(self, seg: Segment, items: dict) -> None:
        c = self._color(seg)
        sel = seg.id == self.selected_id
        fill = QColor(c)
        fill.setAlpha(95 if sel else 45)
        line_pen = pg.mkPen(c, width=3 if sel else 1.5)
        hover_pen = pg.mkPen(c.lighter(140), width=4)
        for key in ("w_region", "s_region"):
            reg = items.get(key)
            if reg is None:
                continue
            reg.blockSignals(True)
            reg.setRegion((seg.start_s, seg.end_s))
            reg.blockSignals(False)
            f = QColor(fill)
            if key == "s_region":
                f.setAlpha(40 if sel else 0)
            reg.setBrush(pg.mkBrush(f))
            reg.setHoverBrush(pg.mkBrush(QColor(c.red(), c.green(), c.blue(), 110)))
            for line in reg.lines:
                line.setPen(line_pen)
                line.setHoverPen(hover_pen)
        text = seg.label or "(unlabeled)"
        if seg.source == "model":
            text += " ·model" + (f" {seg.confidence:.2f}" if seg.confidence is not None else "")
        items["w_label"].setHtml(
            f'<span style="background-color: rgba({c.red()},{c.green()},{c.blue()},200); color: white; '
            f'font-size: 9pt; font-weight: {"bold" if sel else "normal"}; padding: 1px;">&nbsp;{text}&nbsp;</span>')
        items["w_label"].setPos(seg.start_s, self._peak * 1.05)
        rect = items.get("s_rect")
        if rect is not None:
            y0, y1 = self.hz_to_y(seg.low_hz), self.hz_to_y(seg.high_hz)
            rect.setRect(QRectF(seg.start_s, y0, seg.end_s - seg.start_s, y1 - y0))
            pen = QPen(c, 3 if sel else 2)
            pen.setCosmetic(True)
            rect.setPen(pen)
            f = QColor(c)
            f.setAlpha(60 if sel else 25)
            rect.setBrush(pg.mkBrush(f))

    def _on_model_event(self, ev) -> None:
        if self.annotations is None:
            return
        if ev.kind in ("added", "modified"):
            for sid in ev.ids:
                idx = self.annotations.index_of(sid)
                if idx is None:
                    continue
                seg = self.annotations.get(sid)
                items = self._seg_items.get(sid)
                if items is not None and (items["s_rect"] is not None) != seg.is_box:
                    self._remove_seg_items(items)
                    items = None
                if items is None:
                    self._seg_items[sid] = self._make_seg_items(seg)
                else:
                    self._style_seg_items(seg, items)
        elif ev.kind == "removed":
            for sid in ev.ids:
                items = self._seg_items.pop(sid, None)
                if items is not None:
                    self._remove_seg_items(items)
                if sid == self.selected_id:
                    self.select(None)
        elif ev.kind == "reset":
            self._rebuild_segments()
        self._update_overview_segments()

    def _update_overview_segments(self) -> None:
        for it in getattr(self, "_ov_items", []):
            self.overview.removeItem(it)
        self._ov_items = []
        if self.annotations is None:
            return
        by_color: dict[str, list] = {}
        for seg in self.annotations.segments:
            by_color.setdefault(self._color(seg).name(), []).append(seg)
        pk = self._peak
        for color, segs in by_color.items():
            x = np.repeat(np.array([[s.start_s, s.end_s] for s in segs]).ravel(), 1)
            y = np.full(x.shape[0], -pk * 0.95)
            it = pg.PlotCurveItem(x, y, pen=pg.mkPen(color, width=4), connect="pairs")
            self.overview.addItem(it)
            self._ov_items.append(it)

    def select(self, segment_id: str | None) -> None:
        old = self.selected_id
        self.selected_id = segment_id
        for sid in (old, segment_id):
            if sid and sid in self._seg_items and self.annotations is not None \
                    and self.annotations.index_of(sid) is not None:
                self._style_seg_items(self.annotations.get(sid), self._seg_items[sid])
        if old != segment_id:
            self.selectionChanged.emit(segment_id)

    def selected_segment(self) -> Segment | None:
        if self.selected_id and self.annotations is not None and self.annotations.index_of(self.selected_id) is not None:
            return self.annotations.get(self.selected_id)
        return None

    def jump_to(self, seg: Segment) -> None:
        t0, t1 = self.visible_range()
        span = t1 - t0
        if seg.duration_s > span * 0.9:
            span = min(self.duration_s, seg.duration_s * 1.3)
        if seg.start_s < t0 or seg.end_s > t1 or span != t1 - t0:
            c = (seg.start_s + seg.end_s) / 2
            self.set_visible_range(c - span / 2, c + span / 2)
        self.select(seg.id)

    # edge drags: one gesture = one undo step
    def _edge_drag_started(self, sid: str) -> None:
        if self.annotations is None:
            return
        self._end_gesture()
        self._gesture = ExitStack()
        self._gesture_sid = sid
        self._gesture.enter_context(self.annotations.gesture("adjust segment"))
        self.select(sid)

    def _edge_dragged(self, sid: str, region) -> None:
        if self.annotations is None or self.annotations.index_of(sid) is None:
            return
        a, b = region.getRegion()
        a = max(0.0, min(self.duration_s, float(a)))
        b = max(a, min(self.duration_s, float(b)))
        seg = self.annotations.get(sid)
        if abs(seg.start_s - a) > 1e-9 or abs(seg.end_s - b) > 1e-9:
            if self._gesture is None or self._gesture_sid != sid:
                self._edge_drag_started(sid)   # the first move of a drag opens its undo step
            self.annotations.modify(sid, start_s=round(a, 6), end_s=round(b, 6))

    def _edge_drag_finished(self, sid: str) -> None:
        self._end_gesture()

    def _end_gesture(self) -> None:
        if self._gesture is not None:
            g, self._gesture = self._gesture, None
            g.close()

    # drawing new segments
    def _on_drag(self, phase: str, p0: QPointF, p1: QPointF, shift: int) -> None:
        if self.annotations is None:
            return
        vb = self.sender()
        in_spec = vb is self.spec_vb
        box = bool(shift) and in_spec
        a = max(0.0, min(p0.x(), p1.x()))
        b = min(self.duration_s, max(p0.x(), p1.x()))
        if phase == "start":
            self._remove_drag_item()
            if box:
                item = QGraphicsRectItem()
                pen = QPen(QColor("#ffffff"), 1.5, Qt.PenStyle.DashLine)
                pen.setCosmetic(True)
                item.setPen(pen)
                self.spec.addItem(item)
                self._drag_item = (self.spec, item)
            else:
                item = pg.LinearRegionItem(values=(a, b), movable=False,
                                           brush=pg.mkBrush(255, 255, 255, 50))
                self.wave.addItem(item)
                self._drag_item = (self.wave, item)
        if self._drag_item is not None:
            plot, item = self._drag_item
            if box:
                y0, y1 = sorted((p0.y(), p1.y()))
                item.setRect(QRectF(a, y0, b - a, y1 - y0))
            else:
                item.setRegion((a, b))
        if phase == "finish":
            self._remove_drag_item()
            px = (b - a) / max(1e-12, (self.visible_range()[1] - self.visible_range()[0])) * self.pixel_width()
            if px < 3:
                return
            kw = {}
            if box:
                y0, y1 = sorted((p0.y(), p1.y()))
                lo = max(0.0, self.y_to_hz(y0))
                hi = max(lo, self.y_to_hz(y1))
                kw = {"low_hz": round(lo, 1), "high_hz": round(hi, 1)}
            seg = Segment(round(a, 4), round(b, 4), self.active_label, **kw)
            self.annotations.add(seg)
            self.select(seg.id)

    def _remove_drag_item(self) -> None:
        if self._drag_item is not None:
            plot, item = self._drag_item
            plot.removeItem(item)
            self._drag_item = None

    def _on_click(self, p: QPointF, mods) -> None:
        if self.annotations is None:
            return
        t = p.x()
        in_spec = self.sender() is self.spec_vb
        hits = []
        for seg in self.annotations.segments:
            if seg.start_s <= t <= seg.end_s:
                if in_spec and seg.is_box and not (self.hz_to_y(seg.low_hz) <= p.y() <= self.hz_to_y(seg.high_hz)):
                    continue
                hits.append(seg)
        if hits:
            hits.sort(key=lambda s: s.duration_s)
            self.select(hits[0].id)
        else:
            self.select(None)
        self.set_cursor(t)

    # ------------------------------------------------------------------ suggestions
    def set_suggestions(self, segments: list[Segment]) -> None:
        self.suggestions = list(segments)
        self._rebuild_suggestions()

    def _rebuild_suggestions(self) -> None:
        for it in self._sugg_items:
            self.sugg.removeItem(it)
        self._sugg_items = []
        self.sugg.setVisible(bool(self.suggestions))
        if self.suggestions:      # re-assert the left axis width so the time axes line up
            ax = self.sugg.getAxis("left")
            ax.setStyle(showValues=False)
            ax.setWidth(self._axis_w)
            self.sugg.setXLink(None)
            self.sugg.setXLink(self.wave)
        for seg in self.suggestions:
            c = self._color(seg)
            f = QColor(c)
            f.setAlpha(int(60 + 140 * (seg.confidence if seg.confidence is not None else 0.5)))
            reg = pg.LinearRegionItem(values=(seg.start_s, seg.end_s), movable=False, brush=pg.mkBrush(f),
                                      pen=pg.mkPen(c))
            self.sugg.addItem(reg)
            txt = pg.TextItem(seg.label, color="w", anchor=(0, 0.5))
            txt.setPos(seg.start_s, 0.5)
            self.sugg.addItem(txt)
            self._sugg_items += [reg, txt]

    def _sugg_clicked(self, p: QPointF, _mods) -> None:
        for i, seg in enumerate(self.suggestions):
            if seg.start_s <= p.x() <= seg.end_s:
                self.suggestionSelected.emit(i)
                return
        self.suggestionSelected.emit(None)
