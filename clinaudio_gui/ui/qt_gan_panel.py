"""Generator panel: synthesize class-conditional log-mel patches, audition them, keep and export.

Pick a generator package, a class and a duration, generate N (a worker QThread samples the generator and
turns each mel back into audio by Griffin-Lim refined towards the mel, engine/gan/vocoder.py, so the
window never blocks), look at the grid of spectrograms, play any tile through
``main_window.play_samples``, tick the good ones and export them into a data set folder (audio +
SPRSound JSON labels + the mel + a manifest).
Every tile has axes: time in s below, mel-band frequency in Hz on the left. Patches longer than
one generator output (0.51 s) are generator outputs tiled along time with a short cross-fade
(``GanSampler.sample_long``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout,
                               QHBoxLayout, QLabel, QPushButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget)

TILE_SCALE = 2
TILE_MAX_W = 360          # a long patch is squeezed into at most this many pixels
AXIS_LEFT, AXIS_BOTTOM, AXIS_RIGHT = 40, 16, 12
FREQ_TICKS_HZ = (100, 500, 1000, 2000, 4000)


def installed_generators(root=None) -> list[tuple[Path, dict]]:
    from clinaudio_gui.engine.common.package import list_packages
    return [(p, m) for p, m in list_packages(root) if m.get("kind") == "gan-generator"]


class QtGanWorker(QThread):
    """Loads the generator, samples N images of one class and inverts each to audio."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, model_dir: str, label: str, n: int, seed: int, parent=None, *, duration_s: float = 0.0):
        super().__init__(parent)
        self.model_dir, self.label, self.n, self.seed = model_dir, label, int(n), int(seed)
        self.duration_s = float(duration_s)

    def run(self) -> None:
        try:
            import torch
            torch.set_num_threads(1)
            from clinaudio_gui.engine.gan.sampler import GanSampler
            s = GanSampler.load(self.model_dir)
            imgs = s.sample_long(self.label, self.n, self.duration_s, seed=self.seed)
            samples = [{"label": s.classes[s.class_index(self.label)], "seed": self.seed, "index": i,
                        "mel_db": img, "audio": s.to_audio(img)} for i, img in enumerate(imgs)]
            self.done.emit({"samples": samples, "manifest": s.manifest, "model_dir": self.model_dir,
                            "band_hz": s.band_centres_hz()})
        except Exception as e:  # noqa: BLE001 - shown to the user, never crashes the window
            self.failed.emit(f"{type(e).__name__}: {e}")


def mel_pixmap(img_db: np.ndarray, lo: float, hi: float, scale: int = TILE_SCALE) -> QPixmap:
    from clinaudio_gui.engine.gan.png import colorize
    rgb = np.ascontiguousarray(colorize(img_db[::-1], lo, hi).repeat(scale, 0).repeat(scale, 1))
    h, w, _ = rgb.shape
    qimg = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(qimg)


def axis_ticks(n_frames: int, features: dict, band_hz: np.ndarray) -> dict:
    """Tick positions for a tile: time (s) every 0.1 / 0.25 / 0.5 s along the frames, and the mel
    bands nearest to FREQ_TICKS_HZ (within the band range)."""
    hop_s = features["hop"] / features["sample_rate_hz"]
    dur = n_frames * hop_s
    step = 0.1 if dur <= 0.6 else 0.25 if dur <= 1.6 else 0.5
    t_ticks = [round(k * step, 3) for k in range(int(dur / step + 1e-9) + 1)]
    f_ticks = [(hz, int(np.argmin(np.abs(band_hz - hz)))) for hz in FREQ_TICKS_HZ
               if band_hz[0] <= hz <= band_hz[-1] * 1.05]
    return {"duration_s": dur, "hop_s": hop_s, "time_ticks_s": t_ticks, "freq_ticks": f_ticks}


def mel_tile_pixmap(img_db: np.ndarray, lo: float, hi: float, features: dict, band_hz: np.ndarray) -> tuple:
    """(pixmap, ticks): the mel image with a time axis (s) below and a frequency axis (Hz) left."""
    n_mels, n_frames = img_db.shape
    img = mel_pixmap(img_db, lo, hi)
    w = min(n_frames * TILE_SCALE, TILE_MAX_W)
    h = n_mels * TILE_SCALE
    img = img.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.FastTransformation)
    ticks = axis_ticks(n_frames, features, band_hz)
    pm = QPixmap(AXIS_LEFT + w + AXIS_RIGHT, h + AXIS_BOTTOM + 4)
    pm.fill(QColor("white"))
    p = QPainter(pm)
    p.drawPixmap(AXIS_LEFT, 2, img)
    font = QFont()
    font.setPixelSize(9)
    p.setFont(font)
    p.setPen(QColor("black"))
    p.drawLine(AXIS_LEFT - 1, 2, AXIS_LEFT - 1, h + 2)
    p.drawLine(AXIS_LEFT - 1, h + 2, AXIS_LEFT + w, h + 2)
    for hz, band in ticks["freq_ticks"]:
        y = 2 + h - int((band + 0.5) * h / n_mels)
        p.drawLine(AXIS_LEFT - 4, y, AXIS_LEFT - 1, y)
        text = f"{hz // 1000}k" if hz >= 1000 else str(hz)
        p.drawText(0, y - 6, AXIS_LEFT - 6, 12, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
    for t in ticks["time_ticks_s"]:
        x = AXIS_LEFT + int(round(t / ticks["duration_s"] * w))
        p.drawLine(x, h + 2, x, h + 5)
        p.drawText(x - 14, h + 5, 28, 11, int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop), f"{t:g}")
    p.drawText(0, h + 5, AXIS_LEFT - 9, 11, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop), "Hz|s")
    p.end()
    return pm, ticks


class QtGanPanel(QWidget):
    generated = Signal(int)
    exported = Signal(str)

    def __init__(self, main_window, parent=None):
        super().__init__(parent)
        self.main_window = main_window
        self._worker: QtGanWorker | None = None
        self.samples: list[dict] = []
        self.manifest: dict | None = None
        self.model_dir: str | None = None
        self.keep_boxes: list[QCheckBox] = []
        self.tile_axes: list[dict] = []
        self.band_hz: np.ndarray | None = None

        self.model_box = QComboBox()
        self.browse_button = QPushButton("Browse...")
        self.class_box = QComboBox()
        self.n_spin = QSpinBox()
        self.n_spin.setRange(1, 64)
        self.n_spin.setValue(8)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2 ** 31 - 1)
        self.duration_spin = QDoubleSpinBox()
        self.duration_spin.setRange(0.5, 8.0)
        self.duration_spin.setSingleStep(0.5)
        self.duration_spin.setDecimals(2)
        self.duration_spin.setSuffix(" s")
        self.duration_spin.setValue(0.5)
        self.duration_spin.setToolTip("patches longer than one generator output (0.51 s) tile several outputs "
                                      "along time with a short cross-fade")
        self.generate_button = QPushButton("Generate")
        self.export_button = QPushButton("Export kept...")
        self.export_button.setEnabled(False)
        self.info = QLabel("")
        self.info.setWordWrap(True)

        form = QFormLayout()
        mrow = QHBoxLayout()
        mrow.addWidget(self.model_box, 1)
        mrow.addWidget(self.browse_button)
        form.addRow("Generator", mrow)
        form.addRow("Class", self.class_box)
        form.addRow("Count", self.n_spin)
        form.addRow("Seed", self.seed_spin)
        form.addRow("Duration", self.duration_spin)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button)
        buttons.addWidget(self.export_button)

        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        scroll.setMinimumHeight(2 * (64 * TILE_SCALE + 40))
        self.scroll = scroll

        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.info)
        lay.addWidget(scroll, 1)

        self.model_box.currentIndexChanged.connect(self._model_chosen)
        self.browse_button.clicked.connect(self._browse)
        self.generate_button.clicked.connect(self.generate)
        self.export_button.clicked.connect(self._export_dialog)
        self.refresh_models()

    # ------------------------------------------------------------------ models
    def refresh_models(self) -> None:
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for path, m in installed_generators():
            self.model_box.addItem(f"{path.name} ({len(m.get('classes', []))} classes)", str(path))
        self.model_box.blockSignals(False)
        self._model_chosen()

    def set_model_dir(self, path) -> None:
        """Choose a generator package folder (also from Browse...)."""
        path = str(Path(path))
        i = self.model_box.findData(path)
        if i < 0:
            self.model_box.addItem(Path(path).name, path)
            i = self.model_box.count() - 1
        self.model_box.setCurrentIndex(i)
        self._model_chosen()

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Generator package folder")
        if d:
            self.set_model_dir(d)

    def _model_chosen(self, *_args) -> None:
        self.class_box.clear()
        path = self.model_box.currentData()
        self.model_dir = path
        if not path:
            self.info.setText("No generator installed: train one with 'clinaudio gan train'.")
            self.generate_button.setEnabled(False)
            return
        try:
            from clinaudio_gui.engine.common.package import read_manifest
            m = read_manifest(path)
        except Exception as e:  # noqa: BLE001
            self.info.setText(f"Cannot read {path}: {e}")
            self.generate_button.setEnabled(False)
            return
        self.class_box.addItems(list(m.get("classes", [])))
        se = (m.get("architecture") or {}).get("se")
        tr = m.get("training") or {}
        self.info.setText(f"{Path(path).name}: {'SE' if se else 'no-SE'} generator, "
                          f"{tr.get('epochs_done', '?')} epochs on {tr.get('examples', '?')} examples")
        self.generate_button.setEnabled(True)

    # ------------------------------------------------------------------ generation
    def generate(self) -> None:
        if not self.model_dir or self._worker is not None:
            return
        self.generate_button.setEnabled(False)
        self.info.setText(f"Generating {self.n_spin.value()} x {self.class_box.currentText()}...")
        w = QtGanWorker(self.model_dir, self.class_box.currentText(), self.n_spin.value(), self.seed_spin.value(),
                        self, duration_s=self.duration_spin.value())
        w.done.connect(self._on_done)
        w.failed.connect(self._on_failed)
        w.finished.connect(self._on_finished)
        self._worker = w
        w.start()

    def is_busy(self) -> bool:
        return self._worker is not None

    def _on_finished(self) -> None:
        if self._worker is not None:
            self._worker.deleteLater()
        self._worker = None
        self.generate_button.setEnabled(bool(self.model_dir))

    def _on_failed(self, msg: str) -> None:
        self.info.setText(f"Generation failed: {msg}")
        self.main_window.status(f"GAN: {msg}")

    def _on_done(self, result: dict) -> None:
        self.samples = result["samples"]
        self.manifest = result["manifest"]
        self.band_hz = np.asarray(result["band_hz"])
        self._fill_grid()
        self.export_button.setEnabled(bool(self.samples))
        self.info.setText(f"{len(self.samples)} samples of {self.samples[0]['label'] if self.samples else '?'} "
                          f"(seed {self.seed_spin.value()}); tick the good ones and export")
        self.generated.emit(len(self.samples))

    def _fill_grid(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.keep_boxes = []
        self.tile_axes = []
        if not self.samples:
            return
        stack = np.stack([s["mel_db"] for s in self.samples])
        feat = self.manifest["features"]
        lo, hi = float(np.percentile(stack, 1)), float(np.percentile(stack, 99.5))
        tiles = []
        for i, s in enumerate(self.samples):
            tile = QWidget()
            v = QVBoxLayout(tile)
            v.setContentsMargins(2, 2, 2, 2)
            pic = QLabel()
            pm, ticks = mel_tile_pixmap(s["mel_db"], lo, hi, feat, self.band_hz)
            pic.setPixmap(pm)
            self.tile_axes.append(ticks)
            pic.setToolTip(f"{s['label']} #{s['index']} (seed {s['seed']}), {ticks['duration_s']:.2f} s; "
                           f"x: time (s), y: mel band centre frequency (Hz)")
            row = QHBoxLayout()
            play = QPushButton("Play")
            play.clicked.connect(lambda _=False, k=i: self.play(k))
            keep = QCheckBox("Keep")
            row.addWidget(play)
            row.addWidget(keep)
            v.addWidget(pic)
            v.addLayout(row)
            self.keep_boxes.append(keep)
            tiles.append(tile)
        # as many columns as fit without a horizontal scroll bar (the tile's own width, buttons included)
        tile_w = tiles[0].sizeHint().width() + max(0, self.grid.horizontalSpacing())
        avail = self.scroll.viewport().width() - 24
        cols = max(2, min(6, avail // tile_w if avail > tile_w else 2))
        for i, tile in enumerate(tiles):
            self.grid.addWidget(tile, i // cols, i % cols)

    def play(self, index: int) -> None:
        s = self.samples[index]
        self.main_window.play_samples(s["audio"], int(self.manifest["features"]["sample_rate_hz"]))

    # ------------------------------------------------------------------ export
    def kept_indices(self) -> list[int]:
        return [i for i, b in enumerate(self.keep_boxes) if b.isChecked()]

    def set_kept(self, indices) -> None:
        for i, b in enumerate(self.keep_boxes):
            b.setChecked(i in set(indices))

    def default_export_dir(self) -> Path:
        """Beside the open dataset, never inside it: synthetic samples must not mix with real ones."""
        proj = self.main_window.project() if hasattr(self.main_window, "project") else None
        if proj is not None:
            return proj.folder.parent / (proj.folder.name + "-synthetic")
        return Path.home() / "ClinAudio" / "synthetic"

    def _export_dialog(self) -> None:
        start = self.default_export_dir()
        try:
            start.mkdir(parents=True, exist_ok=True)     # so the dialog opens right there
        except OSError:
            start = start.parent
        d = QFileDialog.getExistingDirectory(self, "Export kept samples into a folder (outside the real data)",
                                             str(start))
        if d:
            proj = self.main_window.project() if hasattr(self.main_window, "project") else None
            if proj is not None and (Path(d).resolve() == proj.folder or proj.folder in Path(d).resolve().parents):
                self.main_window.status(f"note: {d} is inside the open dataset {proj.folder}; "
                                        "the synthetic samples will be listed with the real recordings")
            self.export_kept(d)

    def export_kept(self, folder) -> list[Path]:
        """Write the kept samples (audio, SPRSound JSON, mel) and update the folder's manifest."""
        from clinaudio_gui.engine.gan.export import export_samples
        kept = [self.samples[i] for i in self.kept_indices()]
        if not kept:
            self.info.setText("Nothing kept: tick 'Keep' under the samples to export")
            return []
        try:
            paths = export_samples(folder, kept, self.manifest, model_dir=self.model_dir)
        except Exception as e:  # noqa: BLE001
            self.info.setText(f"Export failed: {e}")
            self.main_window.status(f"GAN export failed: {e}")
            return []
        msg = f"Exported {len(paths)} samples to {folder}"
        self.info.setText(msg)
        self.main_window.status(msg)
        self.exported.emit(str(folder))
        return paths
