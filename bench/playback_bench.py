"""First playback latency in the real window: how long Play blocks the GUI thread the first time.

Usage: .venv/bin/python bench/playback_bench.py [--speed 0.5] [--runs 3]

Each run is a fresh process (offscreen Qt) with a private PulseAudio server (a virtual speaker),
opening an 8 kHz SPRSound recording and pressing Play at the given speed:
- "cold": Play right after the recording opened (what a user who plays at once gets);
- "warm": Play after the window's background warm-up finished (``QtPlayer.is_warm``).
Reference: the same window with the warm-up switched off (CLINAUDIO_NO_AUDIO_WARMUP=1), i.e. the
behaviour before issue 18. Reported: median seconds ``toggle_play`` blocked, per mode.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REC = REPO / "resources" / "examples" / "40638274_9.7_1_p2_1801.flac"

CHILD = r"""
import json, sys, time
from PySide6.QtWidgets import QApplication
app = QApplication([])
from clinaudio_gui.ui.qt_main_window import QtMainWindow
speed, wait_warm = float(sys.argv[2]), sys.argv[3] == "1"
win = QtMainWindow(load_panels=False)
win.show()
win.open_path(sys.argv[1])
p = win.player
p.set_device("pulse")
p.set_speed(speed)
t0 = time.monotonic()
while wait_warm and not p.is_warm() and time.monotonic() - t0 < 60:
    app.processEvents(); time.sleep(0.01)
for _ in range(20):
    app.processEvents(); time.sleep(0.005)
t = time.monotonic()
win.toggle_play()
blocked = time.monotonic() - t
print(json.dumps({"blocked_s": blocked, "playing": p.is_playing()}), flush=True)
p.stop()
"""


def _pulse():
    rt = tempfile.mkdtemp(prefix="clinaudio-bench-pulse-")
    os.chmod(rt, 0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=rt, PULSE_RUNTIME_PATH=rt + "/pulse", QT_QPA_PLATFORM="offscreen")
    subprocess.run(["pulseaudio", "--daemonize=yes", "-n", "--exit-idle-time=-1", "-L", "module-native-protocol-unix",
                    "-L", "module-null-sink sink_name=vspk rate=16000 channels=1"], env=env, check=True,
                   capture_output=True)
    for _ in range(50):
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    subprocess.run(["pactl", "set-default-sink", "vspk"], env=env, check=True)
    return env


def run(env, speed, wait_warm, no_warmup) -> float:
    e = dict(env)
    if no_warmup:
        e["CLINAUDIO_NO_AUDIO_WARMUP"] = "1"
    r = subprocess.run([sys.executable, "-c", CHILD, str(REC), str(speed), "1" if wait_warm else "0"],
                       env=e, cwd=REPO, capture_output=True, text=True, timeout=180)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("{")), None)
    if line is None:
        raise SystemExit(r.stdout + r.stderr)
    out = json.loads(line)
    if not out["playing"]:
        raise SystemExit("playback did not start: " + r.stderr[-2000:])
    return out["blocked_s"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=0.5)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    env = _pulse()
    try:
        res = {}
        for name, wait, off in (("reference (no warm-up)", False, True), ("cold", False, False),
                                ("warm", True, False)):
            xs = [run(env, args.speed, wait, off) for _ in range(args.runs)]
            res[name] = statistics.median(xs)
            print(f"{name:24s} first Play blocked {res[name]:.3f} s (median of {args.runs}: "
                  + ", ".join(f"{x:.3f}" for x in xs) + ")", flush=True)
        print(json.dumps(res))
    finally:
        subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True)


if __name__ == "__main__":
    main()
