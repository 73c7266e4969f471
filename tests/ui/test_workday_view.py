"""What the clinician sees (issue 18): the overview strip's range, a window that fits 1280x800
with every dock usable, eliding long texts, readable disabled buttons, readable overlapping
captions, the lung-sound frequency band. Screenshots are written to $CLINAUDIO_SHOTS if set."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QAbstractButton, QApplication, QDockWidget, QScrollArea

from clinaudio_gui.core import Segment
from ui_helpers import wait_drawn
from workday_helpers import LONG, SHORT, copy_recordings

pytestmark = pytest.mark.timeout(180)


def _shot(widget, name):
    d = os.environ.get("CLINAUDIO_SHOTS")
    if d:
        Path(d).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(d) / name))


def test_overview_strip_follows_the_recording(win, qtbot, sprsound_dir, tmp_path):
    short, long_ = copy_recordings(sprsound_dir, tmp_path / "d", (SHORT, LONG))
    win.open_path(short)
    wait_drawn(qtbot, win)
    win.open_path(long_)
    wait_drawn(qtbot, win)
    tl = win.timeline
    x0, x1 = tl.overview.viewRange()[0]
    assert x0 == pytest.approx(0.0, abs=0.01) and x1 == pytest.approx(15.36, abs=0.05)
    # the view rectangle covers the whole (fully visible) recording
    assert tl.overview_region.getRegion() == pytest.approx((0.0, 15.36), abs=0.05)
    # events after 9.2 s are drawn on the strip
    xs = np.concatenate([it.getData()[0] for it in tl._ov_items])
    assert xs.max() == pytest.approx(14.348, abs=0.01)
    _shot(win, "overview_after_switch.png")


def _main(qtbot, w_px, h_px):
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    w = QtMainWindow(restore_layout=False)
    qtbot.addWidget(w)
    w.resize(w_px, h_px)
    w.show()
    qtbot.waitExposed(w)
    return w


def _reachable(qtbot, w, dock, button) -> bool:
    """Can the user see the whole button (scrolling the dock's scroll area if there is one)?"""
    p = button.parentWidget()
    while p is not None and p is not dock:
        if isinstance(p, QScrollArea):
            p.ensureWidgetVisible(button, 2, 2)
            break
        p = p.parentWidget()
    QApplication.processEvents()
    if not button.isVisible():
        return False
    r = QRect(button.mapTo(w, QPoint(0, 0)), button.size())
    return w.rect().contains(r) and not button.visibleRegion().isEmpty() and \
        button.visibleRegion().boundingRect().size() == button.size()


@pytest.mark.parametrize("size", [(1280, 800), (1600, 1000)])
def test_window_fits_and_every_dock_is_usable(qtbot, sprsound_dir, tmp_path, size):
    short, long_ = copy_recordings(sprsound_dir, tmp_path / "d", (SHORT, LONG))
    w = _main(qtbot, *size)
    w.open_path(short)
    QApplication.processEvents()
    assert w.width() <= size[0] and w.height() <= size[1], (w.width(), w.height())
    docks = [d for d in w.findChildren(QDockWidget) if not d.isFloating()]
    assert {"Augment", "Classify", "Synthesize (GAN)", "Live", "Dataset", "Segments"} <= {d.windowTitle() for d in docks}
    unreachable = []
    for d in docks:
        d.raise_()
        QApplication.processEvents()
        for b in d.widget().findChildren(QAbstractButton):
            if b.isHidden() or not b.text() or b.window() is not w:
                continue
            if not _reachable(qtbot, w, d, b):
                unreachable.append(f"{d.windowTitle()}: {b.text()}")
    assert not unreachable, unreachable
    # no dock needs a horizontal scroll bar to show its panel
    for d in docks:
        for sa in d.widget().findChildren(QScrollArea) + ([d.widget()] if isinstance(d.widget(), QScrollArea) else []):
            if sa.widget() is not None and sa.isVisible():
                assert not sa.horizontalScrollBar().isVisible(), d.windowTitle()
    for title in ("Augment", "Classify"):
        next(d for d in docks if d.windowTitle() == title).raise_()
        QApplication.processEvents()
        _shot(w, f"window_{size[0]}x{size[1]}_{title}.png")


def test_long_texts_elide_and_never_grow_the_window(qtbot, sprsound_dir, tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    long_name = "very_long_recording_name_from_the_ward_" * 4 + ".flac"
    shutil.copy(sprsound_dir / (SHORT + ".flac"), folder / long_name)
    w = _main(qtbot, 1280, 800)
    size = w.size()
    w.open_path(folder / long_name)
    w.add_suggestion_segments([Segment(0.5, 1.5, "Wheeze", confidence=0.5)],
                              record_label="Poor Quality " * 20, record_confidence=0.51)
    QApplication.processEvents()
    assert w.size() == size
    assert w.info_label.width() < w.info_label.fontMetrics().horizontalAdvance(long_name)
    assert long_name in w.info_label.toolTip()
    assert "Poor Quality " * 20 in w.sugg_label.toolTip()
    _shot(w, "long_texts.png")


def _contrast(c1: QColor, c2: QColor) -> float:
    def lum(c):
        def ch(v):
            v = v / 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * ch(c.red()) + 0.7152 * ch(c.green()) + 0.0722 * ch(c.blue())
    a, b = sorted((lum(c1), lum(c2)))
    return (b + 0.05) / (a + 0.05)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_disabled_buttons_show_their_text(qtbot, theme):
    from clinaudio_gui.ui.qt_gan_panel import QtGanPanel
    w = _main(qtbot, 1280, 800)
    w._set_theme(theme, save=False)
    gan = w.findChild(QtGanPanel)
    btn = gan.export_button
    assert not btn.isEnabled() and btn.text()
    pal = btn.palette()
    fg = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    bg = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button)
    assert _contrast(fg, bg) >= 3.0, (theme, fg.name(), bg.name())
    # and in the pixels: the text stands out of the button face
    img = btn.grab().toImage()
    face = QColor(img.pixel(img.width() // 2, 3))
    best = max(_contrast(QColor(img.pixel(x, y)), face)
               for x in range(4, img.width() - 4, 1) for y in range(4, img.height() - 4, 1))
    assert best >= 2.5, (theme, best)
    btn.grab().save(str(Path(os.environ.get("CLINAUDIO_SHOTS", "/tmp")) / f"disabled_{theme}.png"))


def _caption_rects(win):
    """Scene rectangles of the captions the user can see (a hidden one is not unreadable)."""
    tl = win.timeline
    return {sid: it["w_label"].sceneBoundingRect() for sid, it in tl._seg_items.items()
            if it["w_label"].isVisible()}


def test_overlapping_segment_captions_do_not_overlap(win, qtbot, sprsound_dir, icbhi_dir, tmp_path):
    short, = copy_recordings(sprsound_dir, tmp_path / "d", (SHORT,))
    win.open_path(short)
    wait_drawn(qtbot, win)
    a = win.current_annotations()
    a.add(Segment(1.8, 2.6, "Wheeze"))           # inside the Fine Crackle at 1.684-2.772
    a.add(Segment(2.0, 2.3, "Rhonchi"))          # inside both
    QApplication.processEvents()
    rects = list(_caption_rects(win).values())
    clashes = [(i, j) for i in range(len(rects)) for j in range(i + 1, len(rects)) if rects[i].intersects(rects[j])]
    assert not clashes
    _shot(win, "overlapping_captions.png")
    # contiguous ICBHI cycles, zoomed out: neighbouring captions do not run into each other either
    shutil.copy(icbhi_dir / "104_1b1_Al_sc_Litt3200.wav", tmp_path / "d")
    shutil.copy(icbhi_dir / "104_1b1_Al_sc_Litt3200.txt", tmp_path / "d")
    win.open_path(tmp_path / "d" / "104_1b1_Al_sc_Litt3200.wav")
    wait_drawn(qtbot, win)
    rects = list(_caption_rects(win).values())
    assert len(rects) >= 0.6 * len(win.timeline._seg_items) and len(rects) > 5
    clashes = [(i, j) for i in range(len(rects)) for j in range(i + 1, len(rects)) if rects[i].intersects(rects[j])]
    assert not clashes
    _shot(win, "icbhi_captions.png")


def test_lung_band_by_default_and_full_band_in_one_click(win, qtbot, icbhi_dir, tmp_path):
    shutil.copy(icbhi_dir / "101_1b1_Pr_sc_Meditron.wav", tmp_path)
    win.open_path(tmp_path / "101_1b1_Pr_sc_Meditron.wav")
    wait_drawn(qtbot, win)
    sr = win.current_recording().sample_rate_hz
    assert sr == 44100
    s = win.timeline.settings
    assert (s.f_min_hz, s.f_max_hz) == (50.0, 2000.0)
    assert win.timeline.spec.viewRange()[1] == pytest.approx((50.0, 2000.0), abs=1)
    win.act_full_band.trigger()
    s = win.timeline.settings
    assert (s.f_min_hz, s.f_max_hz) == (0.0, sr / 2)
    assert win.timeline.spec.viewRange()[1] == pytest.approx((0.0, sr / 2), abs=1)
    wait_drawn(qtbot, win)
    _shot(win, "full_band.png")
    win.act_full_band.trigger()
    assert (win.timeline.settings.f_min_hz, win.timeline.settings.f_max_hz) == (50.0, 2000.0)
