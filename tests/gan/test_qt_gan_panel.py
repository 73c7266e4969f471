"""The generator panel on a real main window (offscreen): generate in a worker, grid, play, keep, export."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(autouse=True)
def _own_qsettings(isolated_qsettings):
    yield isolated_qsettings


def test_panel_generates_grid_plays_and_exports(qtbot, tiny_gan, tmp_path, pulse_server):
    from clinaudio_gui.io import read_sprsound
    from clinaudio_gui.ui.qt_gan_panel import QtGanPanel
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    win = QtMainWindow(load_panels=False)
    qtbot.addWidget(win)
    panel = QtGanPanel(win)
    qtbot.addWidget(panel)
    panel.set_model_dir(tiny_gan)
    assert panel.class_box.count() >= 3
    panel.class_box.setCurrentText("Wheeze")
    panel.n_spin.setValue(3)
    panel.seed_spin.setValue(5)
    with qtbot.waitSignal(panel.generated, timeout=120000) as blocker:
        qtbot.mouseClick(panel.generate_button, __import__("PySide6.QtCore", fromlist=["Qt"]).Qt.MouseButton.LeftButton)
        assert panel.is_busy()  # runs in a worker, the GUI thread is free
    assert blocker.args == [3]
    assert len(panel.keep_boxes) == 3 and panel.grid.count() == 3
    assert all(s["label"] == "Wheeze" and len(s["audio"]) > 0 for s in panel.samples)
    panel.play(1)  # to the virtual speaker through the main window's player
    panel.keep_boxes[0].setChecked(True)
    panel.keep_boxes[2].setChecked(True)
    out = tmp_path / "synthetic"
    paths = panel.export_kept(out)
    assert len(paths) == 2
    for p in paths:
        y, sr = sf.read(p)
        assert sr == 8000 and np.abs(y).max() > 0
        ann = read_sprsound(p.with_suffix(".json"))
        assert [s.label for s in ann.segments] == ["Wheeze"] and ann.record_label == "CAS"
        assert np.load(p.with_suffix(".npy")).shape == (64, 64)
    man = json.loads((out / "manifest.json").read_text())
    assert [r["index"] for r in man["samples"]] == [0, 2]
    # a second export of the same samples adds files instead of overwriting
    assert len(panel.export_kept(out)) == 2
    assert len(list(out.glob("*.wav"))) == 4
    assert len(json.loads((out / "manifest.json").read_text())["samples"]) == 4


def test_panel_tiles_have_time_and_frequency_axes_and_long_patches(qtbot, tmp_path):
    from PySide6.QtGui import QColor
    from clinaudio_gui.engine.gan.sampler import GanSampler, default_model_dir
    from clinaudio_gui.ui.qt_gan_panel import AXIS_BOTTOM, AXIS_LEFT, QtGanPanel
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    win = QtMainWindow(load_panels=False)
    qtbot.addWidget(win)
    panel = QtGanPanel(win)
    qtbot.addWidget(panel)
    panel.set_model_dir(default_model_dir())
    panel.class_box.setCurrentText("Wheeze")
    panel.n_spin.setValue(2)
    panel.seed_spin.setValue(4)
    panel.duration_spin.setValue(1.5)
    with qtbot.waitSignal(panel.generated, timeout=120000):
        panel.generate()
    s0 = panel.samples[0]
    assert s0["mel_db"].shape == (64, 188)  # 1.5 s / 8 ms
    assert len(s0["audio"]) >= 1.4 * 8000
    # the first generator output is the start of the long patch (same seed)
    first = GanSampler.load(default_model_dir()).sample("Wheeze", 2, seed=4)[0]
    assert np.allclose(s0["mel_db"][:, :48], first[:, :48], atol=1e-4)
    assert len(panel.tile_axes) == 2
    for ax in panel.tile_axes:
        assert abs(ax["duration_s"] - 1.504) < 1e-6
        assert ax["time_ticks_s"][0] == 0.0 and ax["time_ticks_s"][-1] == 1.5
        hz = [h for h, _ in ax["freq_ticks"]]
        assert hz[0] == 100 and hz[-1] == 4000
        bands = [b for _, b in ax["freq_ticks"]]
        assert bands == sorted(bands) and bands[-1] == 63
    pic = panel.grid.itemAt(0).widget().findChildren(__import__("PySide6.QtWidgets", fromlist=["QLabel"]).QLabel)[0]
    img = pic.pixmap().toImage()
    assert img.width() > AXIS_LEFT + 300 and img.height() == 128 + AXIS_BOTTOM + 4
    # the axis margins carry drawn tick labels (dark pixels on the white margin)
    left = [QColor(img.pixel(x, y)).lightness() for x in range(AXIS_LEFT - 8) for y in range(img.height())]
    bottom = [QColor(img.pixel(x, y)).lightness() for x in range(AXIS_LEFT, img.width())
              for y in range(132, img.height())]
    assert min(left) < 100 and min(bottom) < 100
    panel.grab().save(str(tmp_path / "panel.png"))
