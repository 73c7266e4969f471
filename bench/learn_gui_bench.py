"""The GUI's event loop while the model is in the loop (issue #19): does it stall?

Usage: .venv/bin/python bench/learn_gui_bench.py [--n 30] [--adapt decoder|weights] [--epochs 4] [--ref-s 20] [--no-queue] [--json]

A small real project: N SPRSound training recordings copied with their SPRSound JSON beside them
(so they count as 'done' labels) to a temp folder, spread over patients. The real main window
(offscreen, every side panel, the Model-in-the-loop dock raised) opens it. A 10 ms QTimer records
every tick; the figure is the longest gap between ticks (the worst event-loop stall), with the
99th percentile and the number of gaps over 50 / 100 ms, in three phases:

- reference: the same loop with nothing running, ``--ref-s`` seconds, before and after the round
  (the machine is shared: the two references show what its other jobs cost the loop);
- fine-tune: "Fine-tune now": a real round (``clinaudio learn finetune FOLDER --progress-json``)
  in a separate process (QProcess), the panel reading its progress lines, until it ends;
- queue: "Rank queue" (uncertainty): the detector over every recording in a worker QThread of
  the GUI process (the in-process job, so it shares the GIL with the event loop).

Target (issue #19): no stall over 100 ms during the fine-tune round.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPRSOUND = REPO.parent / "shared" / "data" / "sprsound" / "train"


def make_project(n: int, dest: Path) -> Path:
    """N recordings spread over patients (round-robin over the sorted patients)."""
    by_patient: dict[str, list[Path]] = {}
    for f in sorted(SPRSOUND.glob("*.wav")) + sorted(SPRSOUND.glob("*.flac")):
        if f.with_suffix(".json").is_file():
            by_patient.setdefault(f.name.split("_")[0], []).append(f)
    picked: list[Path] = []
    k = 0
    while len(picked) < n:
        for files in by_patient.values():
            if k < len(files) and len(picked) < n:
                picked.append(files[k])
        k += 1
    for f in picked:
        shutil.copy(f, dest)
        shutil.copy(f.with_suffix(".json"), dest)
    return dest


class Meter:
    """Ticks of a 10 ms QTimer; gaps between consecutive ticks."""

    def __init__(self):
        from PySide6.QtCore import QTimer
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def start(self):
        self.ticks = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> dict:
        self.timer.stop()
        self.ticks.append(time.perf_counter())
        raw = [((a - self.ticks[0]), (b - a) * 1000.0) for a, b in zip(self.ticks, self.ticks[1:])]
        gaps = sorted(g for _t, g in raw)
        if not gaps:
            return {}
        worst = sorted(raw, key=lambda tg: -tg[1])[:5]
        return {"seconds": round(self.ticks[-1] - self.ticks[0], 1), "ticks": len(gaps),
                "max_gap_ms": round(gaps[-1], 1), "p99_gap_ms": round(gaps[int(0.99 * (len(gaps) - 1))], 1),
                "median_gap_ms": round(gaps[len(gaps) // 2], 1),
                "gaps_over_50ms": sum(g > 50 for g in gaps), "gaps_over_100ms": sum(g > 100 for g in gaps),
                "worst": [(round(t, 2), round(g, 1)) for t, g in worst]}


def _trace_stalls(meter: Meter, limit_s: float) -> None:
    import threading
    import traceback
    main_id = threading.main_thread().ident

    def watch():
        reported = None
        while True:
            time.sleep(0.01)
            last = meter.ticks[-1] if meter.ticks else None
            try:
                active = meter.timer.isActive()
            except RuntimeError:     # the application went away
                return
            if last is not None and active and time.perf_counter() - last > limit_s and reported != last:
                reported = last
                frame = sys._current_frames().get(main_id)
                print(f"---- GUI thread stalled {limit_s * 1000:.0f} ms at {last - meter.ticks[0]:.2f} s, stack:\n" + "".join(traceback.format_stack(frame)[-12:]),
                      file=sys.stderr, flush=True)

    threading.Thread(target=watch, daemon=True).start()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=30, help="recordings in the project (all labeled)")
    ap.add_argument("--adapt", default=None, choices=("decoder", "weights"),
                    help="the round's adapt mode (default: the CLI's, 'decoder')")
    ap.add_argument("--epochs", type=int, default=4, help="fine-tuning epochs of --adapt weights (CLI default 4)")
    ap.add_argument("--ref-s", type=float, default=20.0, help="seconds of the idle reference loop")
    ap.add_argument("--no-queue", action="store_true", help="skip the queue-ranking phase")
    ap.add_argument("--child-nice", type=int, default=None,
                    help="the fine-tune process's niceness (default: the panel's, 10; 0 = same as the window)")
    ap.add_argument("--same-session", action="store_true",
                    help="run the round in the window's session (the panel's default: a session of its own)")
    ap.add_argument("--trace-stalls", type=float, default=0.0, metavar="MS",
                    help="print the GUI thread's stack when it has not ticked for MS ms (finding a stall)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="clinaudio-learn-bench-"))
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")       # never the user's QSettings
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp / "config"))
    app = QApplication(sys.argv[:1])
    from clinaudio_gui.ui.qt_learn_panel import QtLearnPanel
    from clinaudio_gui.ui.qt_main_window import QtMainWindow

    folder = tmp / "project"
    folder.mkdir()
    make_project(args.n, folder)
    win = QtMainWindow(load_panels=True, restore_layout=False)     # the real window with every panel
    win.resize(1400, 860)
    learn = win.panels.get("QtLearnPanel") or QtLearnPanel(win)
    learn.extra_args = ["--epochs", str(args.epochs)] + (["--adapt", args.adapt] if args.adapt else [])
    if args.child_nice is not None:
        learn.child_nice = args.child_nice
    learn.child_session = not args.same_session
    win.show()
    dock = learn.parentWidget()
    while dock is not None and not hasattr(dock, "toggleViewAction"):
        dock = dock.parentWidget()
    if dock is not None:
        dock.raise_()                 # the panel shown (painted), as a user watching the round sees it
    win.open_path(folder)

    def spin(cond, timeout_s: float) -> None:
        """Run the real event loop (as the app does) until cond() or the timeout."""
        from PySide6.QtCore import QEventLoop, QTimer
        t_end = time.monotonic() + timeout_s
        if cond():
            return
        loop, check = QEventLoop(), QTimer()
        check.setInterval(20)
        check.timeout.connect(lambda: loop.quit() if cond() or time.monotonic() > t_end else None)
        check.start()
        loop.exec()
        check.stop()

    spin(lambda: all(r.scanned for r in win.dataset.model.rows), 60)
    spin(lambda: win.timeline.worker.pending() == 0, 60)
    spin(lambda: False, 3.0)       # the window settles (first paint, pyramid, tiles)
    meter = Meter()
    if args.trace_stalls:
        _trace_stalls(meter, args.trace_stalls / 1000.0)
    spin(lambda: win.player.is_warm(), 120)       # the window's audio warm-up (a JIT compile) is over
    out: dict = {"n_recordings": args.n, "epochs": args.epochs, "adapt": args.adapt or "default", "child_nice": learn.child_nice, "own_session": learn.child_session,
                 "load_avg_start": os.getloadavg()[0]}

    # reference: the loop with nothing running (again after the round: the machine is shared)
    meter.start()
    spin(lambda: False, args.ref_s)
    out["reference"] = meter.stop()

    # a real fine-tuning round in its own process
    done: list = []
    learn.finetuneFinished.connect(done.append)
    meter.start()
    t0 = time.perf_counter()
    assert learn.start_finetune(), "the round did not start"
    spin(lambda: bool(done), 1800)
    out["finetune"] = meter.stop()
    out["finetune"]["round_wall_s"] = round(time.perf_counter() - t0, 1)
    res = done[0] if done else {"error": "timed out"}
    out["finetune"]["result"] = {k: res.get(k) for k in ("version", "accepted", "seconds", "n_train", "n_holdout",
                                                         "decision", "error", "cancelled") if k in res}

    meter.start()
    spin(lambda: False, args.ref_s)
    out["reference_after"] = meter.stop()

    if not args.no_queue:   # the detector over every recording, in a thread of the GUI process
        ranked: list = []
        learn.queueRanked.connect(ranked.append)
        for r in win.dataset.model.rows:     # rank them all: pretend none is labeled yet
            r.status = "unlabeled"
        meter.start()
        t0 = time.perf_counter()
        assert learn.rank_queue(), "the ranking did not start"
        spin(lambda: bool(ranked) or not learn.rank_progress.isVisible(), 1800)
        out["queue"] = meter.stop()
        out["queue"]["rank_wall_s"] = round(time.perf_counter() - t0, 1)
        out["queue"]["ranked"] = len(ranked[0]) if ranked else 0
    out["load_avg_end"] = os.getloadavg()[0]
    learn.shutdown()
    win.close()
    shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"project: {args.n} SPRSound recordings (all labeled), fine-tune --adapt {args.adapt or '(default)'} --epochs {args.epochs} "
          f"(nice {learn.child_nice}, {'own session' if learn.child_session else 'the window session'}); "
          f"load average {out['load_avg_start']:.1f} -> {out['load_avg_end']:.1f}")
    print(f"{'phase':<16}{'seconds':>9}{'max gap ms':>12}{'p99 ms':>9}{'median ms':>11}{'>50 ms':>8}{'>100 ms':>9}")
    for phase in ("reference", "finetune", "reference_after", "queue"):
        m = out.get(phase)
        if m:
            print(f"{phase:<16}{m['seconds']:>9}{m['max_gap_ms']:>12}{m['p99_gap_ms']:>9}{m['median_gap_ms']:>11}"
                  f"{m['gaps_over_50ms']:>8}{m['gaps_over_100ms']:>9}   worst (s into phase, ms): {m['worst'][:3]}")
    print("fine-tune:", json.dumps(out["finetune"]["result"]), f"(wall {out['finetune']['round_wall_s']} s)")
    if "queue" in out:
        print(f"queue: {out['queue']['ranked']} recordings ranked in {out['queue']['rank_wall_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
