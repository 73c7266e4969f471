"""The timeline's interaction (a mixin of QtTimeline): mouse drags and clicks on the waveform and
spectrogram, selection, edge drags (one gesture = one undo step), new segments and boxes,
suggestion clicks, and following the AnnotationSet's events.
"""
from __future__ import annotations

from contextlib import ExitStack

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from clinaudio_gui.core import Segment


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


class QtTimelineEditingMixin:
    """Mouse and model-event handling for QtTimeline; every edit goes through AnnotationSet commands."""

    # ------------------------------------------------------------------ model events and selection
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
        self._layout_captions(force=True)

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

    # ------------------------------------------------------------------ edge drags: one gesture = one undo step
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

    # ------------------------------------------------------------------ drawing new segments, clicks
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
        self.selected_suggestion = None
        self._rebuild_suggestions()

    def _sugg_clicked(self, p: QPointF, _mods) -> None:
        for i, seg in enumerate(self.suggestions):
            if seg.start_s <= p.x() <= seg.end_s:
                self.select_suggestion(i)
                self.suggestionSelected.emit(i)
                return
        self.select_suggestion(None)
        self.suggestionSelected.emit(None)

    def select_suggestion(self, index: int | None) -> None:
        """Outline the selected suggestion (white, thick) on the suggestion track; others plain."""
        self.selected_suggestion = index
        for k, reg in enumerate(self._sugg_items[0::2]):
            pen = pg.mkPen("#ffffff", width=3) if k == index else pg.mkPen(self._color(self.suggestions[k]))
            for line in reg.lines:
                line.setPen(pen)
