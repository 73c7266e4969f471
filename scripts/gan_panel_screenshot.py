"""Screenshot of the GAN panel with the bundled generator (models/gan-sprsound-events/panel.png):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/gan_panel_screenshot.py \
        [OUT.png] [--label "Fine Crackle"] [-n 8] [--seed 0] [--duration 0.5]
"""
import argparse
import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from clinaudio_gui.ui.qt_gan_panel import QtGanPanel
from clinaudio_gui.ui.qt_main_window import QtMainWindow

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=str(REPO / "models" / "gan-sprsound-events" / "panel.png"))
    ap.add_argument("--label", default="Fine Crackle")
    ap.add_argument("-n", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--duration", type=float, default=0.5, help="seconds per tile (0.5 = one generator patch)")
    args = ap.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = QtMainWindow(load_panels=False, restore_layout=False)
    panel = QtGanPanel(win)
    panel.resize(620 if args.duration <= 0.5 else 900, 760)
    panel.show()
    panel.class_box.setCurrentText(args.label)
    panel.n_spin.setValue(args.n)
    panel.seed_spin.setValue(args.seed)
    panel.duration_spin.setValue(args.duration)
    done = {"n": None}
    panel.generated.connect(lambda n: done.update(n=n))
    panel.generate()
    t0 = time.monotonic()
    while done["n"] is None and time.monotonic() - t0 < 180:
        app.processEvents()
        time.sleep(0.01)
    if done["n"] is None:
        print("generation did not finish", file=sys.stderr)
        return 1
    panel.set_kept([1, 4])
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    ok = panel.grab().save(args.out)
    print(f"wrote {args.out}" if ok else f"could not write {args.out}")
    win.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
