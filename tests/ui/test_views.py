"""Zoom / pan (keys, wheel, overview strip), spectrogram types from the settings panel, panel
loading that survives a broken panel, and the command line."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from ui_helpers import drag, view_to_widget, wait_drawn

pytestmark = pytest.mark.timeout(120)


def test_zoom_and_pan_by_keys_wheel_and_overview(win, qtbot, sprsound_copy):
    win.open_path(sprsound_copy)
    wait_drawn(qtbot, win)
    tl = win.timeline
    dur = tl.duration_s
    qtbot.keyClick(win, Qt.Key.Key_Plus)
    t0, t1 = tl.visible_range()
    assert t1 - t0 == pytest.approx(dur / 2, rel=0.02)
    qtbot.keyClick(win, Qt.Key.Key_Right)
    u0, u1 = tl.visible_range()
    assert u0 == pytest.approx(t0 + (t1 - t0) / 4, abs=0.02) and u1 - u0 == pytest.approx(t1 - t0, rel=0.02)
    qtbot.keyClick(win, Qt.Key.Key_Minus)
    assert tl.visible_range()[1] - tl.visible_range()[0] == pytest.approx(dur, rel=0.02)
    # the wheel zooms the time axis only
    y_before = tl.wave_vb.viewRange()[1]
    view = tl.glw
    pos = view_to_widget(tl.wave_vb, view, dur / 2, 0.0)
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication
    ev = QWheelEvent(QPointF(pos), QPointF(view.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 240),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), ev)
    w0, w1 = tl.visible_range()
    assert w1 - w0 < dur * 0.8 and w0 < dur / 2 < w1
    assert tl.wave_vb.viewRange()[1] == pytest.approx(y_before)
    # dragging the overview's window pans the views
    a, b = tl.overview_region.getRegion()
    p0 = view_to_widget(tl.overview.getViewBox(), view, (a + b) / 2, 0.0)
    p1 = view_to_widget(tl.overview.getViewBox(), view, (a + b) / 2 + 1.0, 0.0)
    drag(view.viewport(), p0, p1)
    n0, n1 = tl.visible_range()
    assert n0 == pytest.approx(w0 + 1.0, abs=0.1) and n1 - n0 == pytest.approx(w1 - w0, rel=0.02)
    # everything gets drawn again at the new range
    wait_drawn(qtbot, win)


@pytest.mark.parametrize("kind", ["mel", "gammatone", "cwt"])
def test_spectrogram_kind_from_settings_panel(win, qtbot, sprsound_copy, kind):
    win.open_path(sprsound_copy)
    wait_drawn(qtbot, win)
    panel = win.spectro_panel
    panel.kind.setCurrentIndex(panel.kind.findData(kind))      # as a user picks it
    assert win.timeline.settings.kind == kind
    qtbot.waitUntil(lambda: win.timeline.is_fully_drawn(), timeout=30000)
    tl = win.timeline
    imgs = list(tl._images.values())
    assert imgs and all(img.image.shape[0] == tl.settings.n_bands for img in imgs)
    # the Hz axis maps rows to ascending centre frequencies within the range
    f = tl.freq_axis.freqs
    assert f is not None and np.all(np.diff(f) > 0) and f[-1] <= 4000.0 + 1e-6
    assert tl.y_to_hz(tl.hz_to_y(1000.0)) == pytest.approx(1000.0, rel=1e-6)


@pytest.mark.parametrize("kind", ["mel", "gammatone", "cwt"])
def test_spectrogram_kind_chosen_before_any_recording(win, qtbot, sprsound_copy, kind):
    # a saved non-STFT kind is applied at start-up with no file open (sample rate unknown); this
    # once raised "f_min_hz=20.0 must be below f_max_hz=0.5" in the settings slot
    assert win.timeline.reader is None
    panel = win.spectro_panel
    panel.kind.setCurrentIndex(panel.kind.findData(kind))
    assert win.timeline.settings.kind == kind and win.timeline.freq_axis.freqs is None
    win.open_path(sprsound_copy)
    wait_drawn(qtbot, win)
    f = win.timeline.freq_axis.freqs
    assert f is not None and len(f) == win.timeline.settings.n_bands and f[-1] <= 4000.0 + 1e-6


def test_broken_panel_does_not_break_the_window(qtbot, monkeypatch, sprsound_copy):
    import clinaudio_gui.ui.qt_main_window as mw
    monkeypatch.setattr(mw, "PANEL_MODULES", (("qt_timeline", "NoSuchPanel", "Broken"),
                                              ("qt_segment_table", "QtSegmentTable", "Works")))
    w = mw.QtMainWindow(load_panels=True)
    qtbot.addWidget(w)
    w.show()
    assert "NoSuchPanel" in w.panel_errors and "Broken panel unavailable" in w.panel_errors["NoSuchPanel"]
    assert "QtSegmentTable" in w.panels
    assert w.open_path(sprsound_copy)
    w.close()


def test_cli_rejects_unknown_schema_and_missing_file(capsys, tmp_path):
    from clinaudio_gui.ui.app import main
    assert main(["--schema", "no-such-schema", "--screenshot", str(tmp_path / "x.png")]) == 2
    assert "no-such-schema" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.wav"), "--screenshot", str(tmp_path / "x.png")]) == 2
    assert "missing.wav" in capsys.readouterr().err


def test_drop_a_folder_opens_it(win, qtbot, sprsound_copy):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sprsound_copy.parent))])
    ev = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(QPoint(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(win, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(win, ev)
    assert win.current_path() == sprsound_copy.resolve()
    assert [r.path for r in win.dataset.model.rows] == [sprsound_copy.resolve()]
