"""`clinaudio-gui [PATH] [--screenshot PNG] [--schema NAME]`: the ClinAudio desktop app.

Without PATH the app reopens the last session's recording in its folder. With ``--screenshot`` the app opens PATH with its annotations, waits until every view is fully
drawn (waveform, all visible spectrogram tiles from the worker, overview), saves the main
window as PNG and exits 0 (non-zero with a message if that does not happen in time).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="clinaudio-gui", description="ClinAudio: clinical audio workbench")
    p.add_argument("path", nargs="?", help="a recording or a dataset folder to open")
    p.add_argument("--screenshot", metavar="PNG", help="save the fully drawn main window as PNG and exit")
    p.add_argument("--schema", metavar="NAME",
                   help="label schema: sprsound-events (default), sprsound-records, icbhi-cycles, or a JSON file")
    p.add_argument("--size", default="1400x860", help="window size WxH (default 1400x860)")
    p.add_argument("--theme", choices=("dark", "light"), help="colour theme (default: the saved one)")
    p.add_argument("--timeout", type=float, default=60.0, help="--screenshot: seconds to wait for drawing")
    p.add_argument("--no-panels", action="store_true", help="do not load the side panels")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO if os.environ.get("CLINAUDIO_DEBUG") else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from clinaudio_gui.core import get_schema
    from clinaudio_gui.ui.qt_main_window import QtMainWindow

    try:
        w_px, h_px = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"clinaudio-gui: --size {args.size!r} must be WIDTHxHEIGHT", file=sys.stderr)
        return 2
    schema = None
    if args.schema:
        try:
            schema = get_schema(args.schema)
        except Exception as e:  # noqa: BLE001
            print(f"clinaudio-gui: {e}", file=sys.stderr)
            return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ClinAudio")
    app.setOrganizationName("ClinAudio")
    icon = Path(__file__).resolve().parents[2] / "resources" / "clinaudio-256.png"
    if icon.exists():
        from PySide6.QtGui import QIcon
        app.setWindowIcon(QIcon(str(icon)))
    win = QtMainWindow(schema=schema, load_panels=not args.no_panels, restore_layout=not args.screenshot)
    if args.theme:
        win._set_theme(args.theme, save=not args.screenshot)
    if args.screenshot:
        win.resize(w_px, h_px)
    win.show()
    if args.path:
        if "://" not in args.path and not Path(args.path).exists():     # or a project URL (docs/team.md)
            print(f"clinaudio-gui: {args.path}: no such file or folder", file=sys.stderr)
            if args.screenshot:
                return 2
        elif not win.open_path(args.path) and args.screenshot:
            print(f"clinaudio-gui: {win.statusBar().currentMessage()}", file=sys.stderr)
            return 2
    elif not args.screenshot:
        win.restore_last_session()      # back to the recording (and folder) of the last session
    if not args.screenshot:
        return app.exec()
    return _screenshot(app, win, Path(args.screenshot), args.timeout, QTimer)


def _screenshot(app, win, out: Path, timeout_s: float, QTimer) -> int:
    """Wait for a fully drawn window (checked over a few frames), grab it, exit."""
    t0 = time.monotonic()
    result = {"rc": None}
    stable = {"n": 0}

    def check():
        tl = win.timeline
        ready = (win.current_path() is None or (tl.is_fully_drawn() and tl.overview_complete()
                                                 and tl.worker.pending() == 0))
        stable["n"] = stable["n"] + 1 if ready else 0
        if stable["n"] >= 3:
            tl.refresh()
            app.processEvents()
            out.parent.mkdir(parents=True, exist_ok=True)
            log_size = (win.width(), win.height(), win.minimumSizeHint().width())
            logging.getLogger(__name__).info("screenshot of %s", log_size)
            ok = win.grab().save(str(out))
            result["rc"] = 0 if ok else 1
            if not ok:
                print(f"clinaudio-gui: could not write {out}", file=sys.stderr)
            app.quit()
        elif time.monotonic() - t0 > timeout_s:
            print(f"clinaudio-gui: views not fully drawn after {timeout_s:.0f} s", file=sys.stderr)
            result["rc"] = 1
            app.quit()

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(100)
    app.exec()
    win.close()
    return 1 if result["rc"] is None else result["rc"]


if __name__ == "__main__":
    raise SystemExit(main())
