"""The reviewer's view: each annotator's events as parallel tracks under the spectrogram, the
disagreements highlighted, and the consensus built with one click per disagreement.

Everything it decides comes from :mod:`clinaudio_gui.store.review` (no Qt there): the spans
where annotators differ, and the consensus from the choices. Each click saves the consensus set
(owner ``consensus``) with the version it was loaded at, so two reviewers never silently
overwrite each other; every consensus label keeps whose it was.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QPushButton, QSplitter, QTableWidget,
                               QVBoxLayout, QWidget)

from clinaudio_gui.core.schema import get_schema
from clinaudio_gui.store.models import CONSENSUS
from clinaudio_gui.store.review import RECORD, build_consensus, disagreements, spans

TRACK_HEIGHT_PX = 44
AXIS_WIDTH_PX = 72
DISAGREE_RGBA = (230, 60, 60, 70)


def _describe(events) -> str:
    if not events:
        return "no event"
    return ", ".join(f"{s.label} {s.start_s:.2f}-{s.end_s:.2f}" for s in events)


class QtReviewView(QWidget):
    """Review one recording of a project: ``set_recording(store, recording, audio_path)``."""

    consensusSaved = Signal(int)          # the consensus set's new version

    def __init__(self, parent=None):
        super().__init__(parent)
        self._schema = get_schema("sprsound-events")
        self.store = None
        self.recording = None
        self.sets = {}
        self.items = []
        self.choices: dict = {}
        self.consensus = None
        self.consensus_version = 0
        self.title = QLabel("no recording")
        self.title.setObjectName("reviewTitle")
        self.plots = pg.GraphicsLayoutWidget()
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["disagreement", "choose"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.summary = QLabel("")
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.summary)
        rl.addWidget(self.table, 1)
        right.setMinimumWidth(460)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.plots)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(split, 1)
        self.choice_buttons: dict[tuple, QPushButton] = {}

    # ---- data ----------------------------------------------------------------
    def set_recording(self, store, recording, audio_path: str | Path | None) -> None:
        """Load every annotator's set of ``recording`` (RecordingInfo) and the consensus so far."""
        self.store, self.recording = store, recording
        loaded = {o: ls for (rid, o), ls in store.load_all().items() if rid == recording.id}
        cons = loaded.pop(CONSENSUS, None)
        self.sets = {o: ls.annotations for o, ls in sorted(loaded.items())}
        self.consensus = cons.annotations if cons is not None else None
        self.consensus_version = cons.version if cons is not None else 0
        self.choices = dict(self.consensus.metadata.get("review_choices", {})) if self.consensus else {}
        self.choices = {(int(k) if str(k).isdigit() else k): v for k, v in self.choices.items()}
        self.items = disagreements(self.sets) if len(self.sets) >= 2 else []
        self._audio = self._read_audio(audio_path)
        self._redraw()
        self._fill_table()

    @staticmethod
    def _read_audio(path):
        if path is None:
            return None
        from clinaudio_gui.io import read_audio
        return read_audio(path)

    # ---- drawing -------------------------------------------------------------
    def _redraw(self) -> None:
        self.plots.clear()
        rec = self.recording
        dur = rec.duration_s or max([s.end_s for a in self.sets.values() for s in a.segments] + [1.0])
        self._spans = spans(self.sets)
        self._update_title()
        spec = self.plots.addPlot(row=0, col=0)
        spec.setLabel("left", "Hz")
        spec.getAxis("left").setWidth(AXIS_WIDTH_PX)
        spec.hideAxis("bottom")
        spec.setMouseEnabled(y=False)
        if self._audio is not None:
            from clinaudio_gui.dsp import stft_db
            y, sr = self._audio
            img, times, freqs = stft_db(y, sample_rate_hz=sr, n_fft=512, hop=128)
            lo, hi = np.percentile(img, [5, 99.5])
            item = pg.ImageItem(img.T, levels=(lo, hi))
            item.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
            item.setRect(0, 0, len(y) / sr, sr / 2)
            spec.addItem(item)
            spec.setYRange(0, sr / 2, padding=0)
        spec.setXRange(0, dur, padding=0)
        self._tracks = {}
        owners = list(self.sets) + [CONSENSUS]
        for i, owner in enumerate(owners, start=1):
            p = self.plots.addPlot(row=i, col=0)
            p.setXLink(spec)
            p.setMouseEnabled(x=True, y=False)
            p.setYRange(0, 1, padding=0)
            left = p.getAxis("left")
            left.setWidth(AXIS_WIDTH_PX)
            left.setTicks([[(0.5, owner)], []])
            last = i == len(owners)
            if not last:
                p.hideAxis("bottom")
            else:
                p.setLabel("bottom", "s")
            h = TRACK_HEIGHT_PX + (30 if last else 0)
            p.setMinimumHeight(h)
            p.setMaximumHeight(h)
            self._tracks[owner] = p
            self._draw_track(owner)
        self._draw_regions(spec, 10)             # over the spectrogram image

    def _draw_regions(self, plot, z: float) -> None:
        rgba = DISAGREE_RGBA if z < 0 else DISAGREE_RGBA[:3] + (40,)   # lighter over the image
        for sp in self._spans:
            if not sp.agreed:
                r = pg.LinearRegionItem((sp.start_s, sp.end_s), movable=False,
                                        brush=pg.mkBrush(*rgba), pen=pg.mkPen(None))
                r.setZValue(z)
                plot.addItem(r)

    def _draw_track(self, owner: str) -> None:
        p = self._tracks[owner]
        for item in list(p.items):
            p.removeItem(item)
        a = self.sets.get(owner) if owner != CONSENSUS else self.consensus
        self._draw_regions(p, -5)                # under the events
        self._draw_events(p, a.segments if a is not None else ())

    def _update_title(self) -> None:
        self.title.setText(f"{self.recording.name} · {len(self.sets)} annotator(s) · "
                           f"{len(self.items)} disagreement(s) · consensus version {self.consensus_version}")

    def _draw_events(self, plot, segments) -> None:
        for s in segments:
            color = QColor(self._schema.color_of(s.label))
            rect = pg.QtWidgets.QGraphicsRectItem(s.start_s, 0.1, max(s.duration_s, 0.01), 0.8)
            color.setAlpha(200)
            rect.setBrush(pg.mkBrush(color))
            rect.setPen(pg.mkPen("k", width=0))
            plot.addItem(rect)
            t = pg.TextItem(s.label, color="w", anchor=(0, 0.5))
            t.setPos(s.start_s, 0.5)
            plot.addItem(t)

    # ---- the choices -----------------------------------------------------------
    def _fill_table(self) -> None:
        self.table.setRowCount(len(self.items))
        self.choice_buttons.clear()
        for row, it in enumerate(self.items):
            key = RECORD if it.kind == RECORD else it.index
            what = "record label" if it.kind == RECORD else f"{it.start_s:.2f}-{it.end_s:.2f} s"
            self.table.setCellWidget(row, 0, QLabel(" " + what + " "))
            box = QWidget()
            hl = QHBoxLayout(box)
            hl.setContentsMargins(2, 0, 2, 0)
            for owner in self.sets:
                if it.kind == RECORD:
                    text, tip = f"{owner}: {it.labels[owner] or '-'}", ""
                else:
                    evs = it.events.get(owner, [])
                    text = f"{owner}: " + (" + ".join(s.label for s in evs) if evs else "no event")
                    tip = _describe(evs)
                b = QPushButton(text)
                b.setToolTip(tip)
                b.setCheckable(True)
                b.setChecked(self.choices.get(key) == owner)
                b.clicked.connect(lambda _=False, k=key, o=owner: self.choose(k, o))
                hl.addWidget(b)
                self.choice_buttons[(key, owner)] = b
            self.table.setCellWidget(row, 1, box)
        self.table.resizeRowsToContents()
        self._update_summary()

    def _update_summary(self) -> None:
        decided = sum(1 for it in self.items if (RECORD if it.kind == RECORD else it.index) in self.choices)
        self.summary.setText(f"{decided} of {len(self.items)} disagreement(s) decided")

    def choose(self, key, owner: str) -> int:
        """One click: take ``owner``'s version of disagreement ``key`` into the consensus and save it."""
        self.choices[key] = owner
        for (k, o), b in self.choice_buttons.items():
            if k == key:
                b.setChecked(o == owner)
        cons = build_consensus(self.sets, self.choices, base=self.consensus)
        cons._metadata["review_choices"] = {str(k): v for k, v in self.choices.items()}
        self.consensus_version = self.store.save(self.recording.id, CONSENSUS, cons, self.consensus_version,
                                                 action="review")
        self.consensus = cons
        self._draw_track(CONSENSUS)
        self._update_title()
        self._update_summary()
        self.consensusSaved.emit(self.consensus_version)
        return self.consensus_version

    def disagreement_count(self) -> int:
        return len(self.items)
