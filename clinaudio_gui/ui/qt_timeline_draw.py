"""The timeline's drawing (a mixin of QtTimeline): waveform from the min/max pyramid, spectrogram
tiles from the worker and the tile cache, playhead and cursor, segment and suggestion items.

Nothing here reacts to the mouse; that is ``qt_timeline_edit``.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from clinaudio_gui.core import Segment
from clinaudio_gui.ui.captions import caption_lanes
from clinaudio_gui.ui.spectro import TILE_COLUMNS, level_for, tile_span_frames

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


class QtTimelineDrawingMixin:
    """Drawing for QtTimeline (which owns the plots, the reader, the pyramid and the caches)."""

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
        self._layout_captions()
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

    # ------------------------------------------------------------------ segment and suggestion items
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
        self._layout_captions(force=True)

    def _layout_captions(self, force: bool = False) -> None:
        """Captions whose extents overlap at this zoom go to lanes one caption height apart; a caption
        that would need more than captions.MAX_LANES lanes is hidden (its segment stays drawn)."""
        if self.annotations is None or not self._seg_items:
            return
        t0, t1 = self.visible_range()
        w_px = max(1.0, float(self.wave_vb.width()))
        key = (round(t0, 5), round(t1, 5), int(w_px))
        if not force and key == getattr(self, "_caption_key", None):
            return
        self._caption_key = key
        px_per_s = w_px / max(1e-9, t1 - t0)
        ids, spans = [], []
        for sid, items in self._seg_items.items():
            if self.annotations.index_of(sid) is None:
                continue
            seg = self.annotations.get(sid)
            left = (seg.start_s - t0) * px_per_s
            ids.append(sid)
            spans.append((left, left + items["w_label"].boundingRect().width()))
        for sid, lane in zip(ids, caption_lanes(spans)):
            label = self._seg_items[sid]["w_label"]
            label.setVisible(lane is not None)
            if lane is not None:
                label.setAnchor((0, -lane))

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
