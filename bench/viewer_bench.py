"""Viewer on a 60-minute 44.1 kHz recording: open-to-first-paint, pan / zoom repaint, peak memory.

Usage: .venv/bin/python bench/viewer_bench.py [--minutes 60] [--no-reference] [--write-docs]

Each side runs in its own fresh process (offscreen Qt) so peak RSS is its own:
- clinaudio: ``QtMainWindow.open_path`` -> waveform from the min/max pyramid + spectrogram tiles
  from the worker; "first paint" = every visible view complete (waveform drawn and all visible
  spectrogram tiles at the screen's level shown); "overview" = the whole-file pyramid built.
  A pan / zoom step = set the range and repaint the window synchronously; "tiles" = until the
  new visible spectrogram tiles are all computed and shown.
- reference, the plain approach: read the whole file (soundfile), plot it with pyqtgraph
  (auto peak downsampling + clip to view) and compute the whole STFT with librosa, as a naive
  viewer does. It is limited to 8 GB of address space; beyond that it is reported as failed.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"


def make_file(path: Path, minutes: float, sr: int = 44100) -> Path:
    """Breath-like noise (amplitude-modulated, low-passed) with crackles, written block by block."""
    import soundfile as sf
    from scipy.signal import butter, sosfilt, sosfilt_zi
    frames = int(minutes * 60 * sr)
    if path.exists() and path.stat().st_size > frames * 2:
        return path
    rng = np.random.default_rng(0)
    sos = butter(4, 1200, fs=sr, output="sos")
    zi = sosfilt_zi(sos) * 0.0
    tmp = path.with_suffix(".partial.wav")
    with sf.SoundFile(str(tmp), "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
        block = sr * 10
        for start in range(0, frames, block):
            n = min(block, frames - start)
            t = (start + np.arange(n)) / sr
            env = 0.25 + 0.75 * np.clip(np.sin(2 * np.pi * t / 3.5), 0, None) ** 2
            y, zi = sosfilt(sos, rng.standard_normal(n), zi=zi)
            y = 0.08 * env * y
            for k in rng.integers(0, n, size=max(1, n // sr * 2)):
                m = min(n - k, 200)
                y[k:k + m] += 0.3 * np.exp(-np.arange(m) / 30.0) * np.sin(np.arange(m) * 0.9)
            f.write(y.astype(np.float32))
    os.replace(tmp, path)
    return path


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_clinaudio(path: str, steps: int) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["XDG_CONFIG_HOME"] = "/tmp/clinaudio-bench-config"
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    win = QtMainWindow(load_panels=False)
    win.resize(1400, 860)
    win.show()
    app.processEvents()
    tl = win.timeline

    def wait(cond, timeout=120.0):
        t = time.perf_counter()
        while not cond():
            app.processEvents()
            time.sleep(0.001)
            if time.perf_counter() - t > timeout:
                raise TimeoutError("viewer did not finish drawing")

    t0 = time.perf_counter()
    win.open_path(path)
    wait(tl.is_fully_drawn)
    win.repaint()
    first_paint = time.perf_counter() - t0
    wait(tl.overview_complete)
    app.processEvents()
    overview = time.perf_counter() - t0
    res = {"first_paint_s": first_paint, "overview_s": overview,
           "visible_s": list(tl.visible_range()), "rss_after_open_mb": _rss_now_mb()}

    def step(action):
        t = time.perf_counter()
        action()
        win.repaint()           # synchronous paint of the whole window
        paint = time.perf_counter() - t
        wait(tl.is_fully_drawn)
        win.repaint()
        return paint, time.perf_counter() - t

    pans, zooms = [], []
    for _ in range(steps):
        pans.append(step(lambda: tl.pan(0.25)))
    for i in range(steps):
        zooms.append(step(lambda i=i: tl.zoom(2.0 if i % 4 < 2 else 0.5)))
    # the whole hour in view, then back
    whole = step(lambda: tl.set_visible_range(0, tl.duration_s))
    back = step(lambda: tl.set_visible_range(1800, 1860))
    res.update({"pan_paint_ms": _stats([p for p, _ in pans]), "pan_tiles_ms": _stats([q for _, q in pans]),
                "zoom_paint_ms": _stats([p for p, _ in zooms]), "zoom_tiles_ms": _stats([q for _, q in zooms]),
                "whole_hour_paint_ms": whole[0] * 1000, "whole_hour_tiles_ms": whole[1] * 1000,
                "jump_paint_ms": back[0] * 1000, "jump_tiles_ms": back[1] * 1000,
                "peak_rss_mb": _peak_rss_mb()})
    win.close()
    return res


def _rss_now_mb() -> float:
    import psutil
    return psutil.Process().memory_info().rss / 1e6


def _stats(xs):
    a = np.array(xs) * 1000
    return {"median": float(np.median(a)), "p95": float(np.percentile(a, 95)), "max": float(a.max())}


def child_reference(path: str) -> dict:
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    import clinaudio_gui.ui  # noqa: F401 - the PySide6 6.12 guard, same as the app
    t0 = time.perf_counter()
    try:
        import soundfile as sf
        y, sr = sf.read(path, dtype="float32")
        w = pg.GraphicsLayoutWidget()
        w.resize(1400, 860)
        p1 = w.addPlot(row=0, col=0)
        c = p1.plot(y)
        c.setDownsampling(auto=True, method="peak")
        c.setClipToView(True)
        import librosa
        S = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
        img = pg.ImageItem(librosa.amplitude_to_db(S).T)
        p2 = w.addPlot(row=1, col=0)
        p2.addItem(img)
        w.show()
        app.processEvents()
        w.repaint()
        first = time.perf_counter() - t0
        t = time.perf_counter()
        p1.setXRange(len(y) // 2, len(y) // 2 + 60 * sr)
        w.repaint()
        pan = time.perf_counter() - t
        return {"first_paint_s": first, "pan_paint_ms": pan * 1000, "peak_rss_mb": _peak_rss_mb()}
    except MemoryError:
        return {"failed": "MemoryError (over 8 GB address space)", "after_s": time.perf_counter() - t0,
                "peak_rss_mb": _peak_rss_mb()}


def run_child(kind: str, path: Path, steps: int) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, str(path), "--steps", str(steps)]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        return {"failed": f"exit {r.returncode}: {(r.stderr.strip().splitlines() or ['?'])[-1]}",
                "after_s": time.perf_counter() - t}
    return json.loads(lines[-1])


def table(minutes: float, path: Path, ca: dict, ref: dict | None) -> str:
    mb = path.stat().st_size / 1e6
    lines = [f"Command: `.venv/bin/python bench/viewer_bench.py` ({minutes:g}-minute 44.1 kHz mono 16-bit WAV, "
             f"{mb:.0f} MB, generated in /tmp; offscreen Qt, window 1400x860; each side in a fresh process; "
             f"{time.strftime('%Y-%m-%d')}; load average {os.getloadavg()[0]:.1f} on 2 shared cores).", "",
             "| | ClinAudio viewer | plain approach (whole file + full STFT) | target |", "|---|---|---|---|"]
    r = ref or {}
    rf = r.get("failed")

    def refv(key, fmt):
        if ref is None:
            return "not run"
        if rf:
            return f"failed: {rf}" if key == "first_paint_s" else "-"
        return fmt.format(r[key]) if key in r else "-"
    lines.append(f"| open to first complete paint | {ca['first_paint_s']:.2f} s | {refv('first_paint_s', '{:.1f} s')} | < 2 s |")
    lines.append(f"| whole-file overview (pyramid) built | {ca['overview_s']:.2f} s | - | |")
    lines.append(f"| pan step repaint (median / p95 / max) | {ca['pan_paint_ms']['median']:.1f} / "
                 f"{ca['pan_paint_ms']['p95']:.1f} / {ca['pan_paint_ms']['max']:.1f} ms | "
                 f"{refv('pan_paint_ms', '{:.0f} ms')} | < 50 ms |")
    lines.append(f"| zoom step repaint (median / p95 / max) | {ca['zoom_paint_ms']['median']:.1f} / "
                 f"{ca['zoom_paint_ms']['p95']:.1f} / {ca['zoom_paint_ms']['max']:.1f} ms | - | < 50 ms |")
    lines.append(f"| pan / zoom until new spectrogram tiles shown (median) | {ca['pan_tiles_ms']['median']:.0f} / "
                 f"{ca['zoom_tiles_ms']['median']:.0f} ms | - | |")
    lines.append(f"| zoom out to the whole hour: repaint / all tiles | {ca['whole_hour_paint_ms']:.0f} / "
                 f"{ca['whole_hour_tiles_ms']:.0f} ms | - | |")
    lines.append(f"| jump to 30:00: repaint / all tiles | {ca['jump_paint_ms']:.0f} / {ca['jump_tiles_ms']:.0f} ms | - | |")
    lines.append(f"| peak resident memory | {ca['peak_rss_mb']:.0f} MB | {refv('peak_rss_mb', '{:.0f} MB')} | < 1 GB |")
    if ref is not None and not rf:
        lines.append(f"| ratio plain / ClinAudio: first paint, pan repaint (median), memory | "
                     f"{r['first_paint_s'] / ca['first_paint_s']:.0f}x, "
                     f"{r['pan_paint_ms'] / ca['pan_paint_ms']['median']:.0f}x, "
                     f"{r['peak_rss_mb'] / ca['peak_rss_mb']:.0f}x | | |")
    lines += ["", "For scale (from the issue, not measured here): the PySide6 + pyqtgraph lung-sound annotation tool "
              "that is our nearest peer took 37 s and 15 GB to open a file like this one.",
              "Repaint = setting the range plus a synchronous repaint of the whole window (waveform from the "
              "pyramid; cached or stand-in coarser spectrogram tiles); new tiles arrive from the worker "
              "thread afterwards (the 'tiles shown' rows)."]
    return "\n".join(lines) + "\n"


def write_docs(text: str) -> None:
    doc = DOCS.read_text(encoding="utf-8")
    pat = re.compile(r"(## viewer[^\n]*\n)(.*?)(?=\n## |\Z)", re.S)
    if not pat.search(doc):
        doc = doc.rstrip("\n") + "\n\n## viewer (bench/viewer_bench.py)\n" + text
    else:
        doc = pat.sub(lambda m: m.group(1) + text, doc, count=1)
    DOCS.write_text(doc, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "PATH"))
    ap.add_argument("--from-log", help="rebuild the table from a previous run's printed JSON (no re-run)")
    args = ap.parse_args()
    if args.child:
        kind, path = args.child
        res = child_clinaudio(path, args.steps) if kind == "clinaudio" else child_reference(path)
        print(json.dumps(res))
        return 0
    path = make_file(Path(f"/tmp/clinaudio_bench_{args.minutes:g}min_44k.wav"), args.minutes)
    if args.from_log:
        text = Path(args.from_log).read_text()
        blocks = re.findall(r"^(clinaudio|reference): (\{.*?^\})", text, re.S | re.M)
        got = {k: json.loads(v) for k, v in blocks}
        table_text = table(args.minutes, path, got["clinaudio"], got.get("reference"))
        print(table_text)
        if args.write_docs:
            write_docs(table_text)
        return 0
    ca = run_child("clinaudio", path, args.steps)
    print("clinaudio:", json.dumps(ca, indent=1))
    if "failed" in ca:
        return 1
    ref = None if args.no_reference else run_child("reference", path, args.steps)
    if ref is not None:
        print("reference:", json.dumps(ref, indent=1))
    text = table(args.minutes, path, ca, ref)
    print(text)
    if args.write_docs:
        write_docs(text)
    ok = ca["first_paint_s"] < 2.0 and ca["pan_paint_ms"]["p95"] < 50 and ca["peak_rss_mb"] < 1000
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
