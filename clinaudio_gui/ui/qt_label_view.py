"""The model's view of the user's labels (Classify panel): every segment the user labeled on the
open recording, classified by the detector's event head (``Detector.event_probabilities``, tasks
1-1 / 1-2: "what is this given event?"), the rows where the model's top class differs from the
user's label marked and listed first. Click a row (or Enter on it) to go to that segment.

``user_label_spans`` runs on the GUI thread (it reads the annotations); ``model_view`` runs in the
classify worker (no widget is touched there); ``QtLabelView`` shows the rows on the GUI thread."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

ID_ROLE = Qt.ItemDataRole.UserRole
MARKS = {"differ": "≠", "other": "?", "agree": "=", "point": "·"}
ORDER = {"differ": 0, "other": 1, "point": 2, "agree": 3}   # disagreements first, then by time
DIFFER_BG = QColor(230, 70, 50, 90)                       # readable on the light and the dark theme


def user_label_spans(annotations) -> list[tuple[str, float, float, str]]:
    """(id, start_s, end_s, label) of the user's own segments: everything but model segments."""
    if annotations is None:
        return []
    return [(s.id, float(s.start_s), float(s.end_s), str(s.label))
            for s in annotations.sorted_segments() if s.source != "model"]


def model_view(det, result: dict, spans) -> list[dict]:
    """One row per span: the model's class probabilities of that span and whether its top class
    is the user's label (``agree`` / ``differ``; ``other``: the label is none of the model's
    classes; ``point``: a zero-length label, nothing to classify). ``result`` is a
    ``det.detect(..., with_frames=True, with_sequence=True)`` result of the same recording. No
    rows for a recording the quality gate stopped: the model was not asked about it."""
    if result.get("quality") not in (None, "ok"):
        return []
    classes = list(det.event_classes)
    canon = {c.casefold(): c for c in classes}
    timed = [(t0, t1) for _sid, t0, t1, _lab in spans if t1 > t0]
    probs = iter(det.event_probabilities(result, timed) if timed else np.zeros((0, len(classes))))
    rows = []
    for sid, t0, t1, lab in spans:
        row = {"id": sid, "start_s": t0, "end_s": t1, "label": lab, "probabilities": None,
               "top": None, "top_p": None, "next": None, "next_p": None, "status": "point"}
        if t1 > t0:
            p = np.asarray(next(probs), dtype=np.float64)
            order = np.argsort(-p, kind="stable")
            mine = canon.get(lab.strip().casefold())
            row.update(probabilities={c: float(v) for c, v in zip(classes, p)},
                       top=classes[order[0]], top_p=float(p[order[0]]),
                       next=classes[order[1]] if len(order) > 1 else None,
                       next_p=float(p[order[1]]) if len(order) > 1 else None,
                       status="other" if mine is None else ("agree" if mine == classes[order[0]] else "differ"))
        rows.append(row)
    rows.sort(key=lambda r: (ORDER[r["status"]], r["start_s"], r["end_s"]))
    return rows


def row_text(r: dict) -> str:
    head = f"{MARKS[r['status']]} {r['start_s']:.2f}–{r['end_s']:.2f} s   yours: {r['label']}"
    if r["top"] is None:
        return head + "\n  model: - (a point label: no span to classify)"
    body = f"\n  model: {r['top']} {r['top_p']:.2f}"
    if r["next"] is not None:
        body += f" (next: {r['next']} {r['next_p']:.2f})"
    return head + body


def row_tooltip(r: dict) -> str:
    if not r["probabilities"]:
        return "a zero-length label: nothing to classify"
    note = {"differ": "the model's top class differs from your label",
            "other": "your label is none of the model's classes; its top class is shown",
            "agree": "the model agrees with your label"}[r["status"]]
    probs = "\n".join(f"  {c}: {v:.3f}" for c, v in sorted(r["probabilities"].items(), key=lambda kv: -kv[1]))
    return f"{note}\n{probs}\nclick or Enter: go to this segment"


class QtLabelView(QWidget):
    """A heading and one row per labeled segment; empty (and hidden) while there is nothing to show."""

    segmentActivated = Signal(str)   # segment id: the user clicked (or pressed Enter on) its row

    def __init__(self, main_window=None, parent=None):
        super().__init__(parent)
        self.setObjectName("QtLabelView")
        self.main_window = main_window
        self.rows: list[dict] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.list = QListWidget()
        self.list.setObjectName("labelViewList")
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.setMinimumHeight(110)
        self.list.setToolTip("your labels as the detector's event head sees them; ≠: the model's top class differs")
        self.list.itemClicked.connect(self._activated)
        self.list.itemActivated.connect(self._activated)     # Enter (and double-click)
        lay.addWidget(self.heading)
        lay.addWidget(self.list, 1)
        self.segmentActivated.connect(self.go_to)
        self.clear()

    def clear(self) -> None:
        self.set_rows([])

    def set_rows(self, rows: list[dict]) -> None:
        self.rows = list(rows)
        self.list.clear()
        bold = QFont(self.list.font())
        bold.setBold(True)
        for r in self.rows:
            it = QListWidgetItem(row_text(r))
            it.setData(ID_ROLE, r["id"])
            it.setToolTip(row_tooltip(r))
            if r["status"] == "differ":
                it.setBackground(QBrush(DIFFER_BG))
                it.setFont(bold)
            self.list.addItem(it)
        n_diff = sum(r["status"] == "differ" for r in self.rows)
        self.heading.setText(f"<b>Model's view of your labels</b>: {len(self.rows)} label(s), "
                             f"{n_diff} disagree (≠, listed first). Click a row to go there.")
        self.setVisible(bool(self.rows))

    def _activated(self, item: QListWidgetItem) -> None:
        self.segmentActivated.emit(str(item.data(ID_ROLE)))

    def go_to(self, sid: str) -> bool:
        """Select the segment on the timeline and show it, as the segment table's activation does."""
        mw = self.main_window
        ann = mw.current_annotations() if mw is not None and hasattr(mw, "current_annotations") else None
        tl = getattr(mw, "timeline", None)
        if ann is None or tl is None or ann.index_of(sid) is None:
            return False
        seg = ann.get(sid)
        tl.jump_to(seg)
        tl.set_cursor(seg.start_s)
        return True
