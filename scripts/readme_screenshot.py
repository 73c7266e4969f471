"""The README screenshot: an SPRSound recording with the gammatone view and the detector's
suggestion track under it (Classify dock raised). Run:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/readme_screenshot.py docs/screenshot.png \
        [AUDIO]

AUDIO defaults to a bundled example; the README's is a held-out recording of the bundled
detector's fold (../shared/data/sprsound/train/65099422_0.5_0_p4_2700.flac, the best of the 17
held-out recordings with wheezes and crackles for the bundled detector of the moment).
"""
import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication, QDockWidget

from clinaudio_gui.ui.qt_classify_panel import QtClassifyPanel
from clinaudio_gui.ui.qt_main_window import QtMainWindow

REPO = Path(__file__).resolve().parents[1]


def main(out: str, audio: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = QtMainWindow(restore_layout=False)
    win.resize(1400, 860)
    win.show()
    win.open_path(Path(audio) if audio else REPO / "resources" / "examples" / "40638274_9.7_1_p2_1801.flac")
    from clinaudio_gui.ui.qt_spectro_settings import QtSpectroSettings
    settings = win.findChild(QtSpectroSettings)
    settings.kind.setCurrentIndex(settings.kind.findData("gammatone"))
    panel = win.findChild(QtClassifyPanel)
    done = {"ok": False}
    panel.classified.connect(lambda *a: done.update(ok=True))
    t0 = time.monotonic()
    while win.current_recording() is None and time.monotonic() - t0 < 30:
        app.processEvents()
    panel.classify()
    for dock in win.findChildren(QDockWidget):
        if dock.widget() is not None and dock.widget().findChild(QtClassifyPanel) is panel or dock.widget() is panel:
            dock.raise_()
    while not done["ok"] and time.monotonic() - t0 < 120:
        app.processEvents()
        time.sleep(0.01)
    tl = win.timeline
    stable = 0
    while stable < 5 and time.monotonic() - t0 < 180:
        app.processEvents()
        ready = tl.is_fully_drawn() and tl.overview_complete() and tl.worker.pending() == 0
        stable = stable + 1 if ready else 0
        time.sleep(0.05)
    tl.refresh()
    app.processEvents()
    ok = win.grab().save(out)
    win.close()
    return 0 if ok and done["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot.png",
                          sys.argv[2] if len(sys.argv) > 2 else None))
