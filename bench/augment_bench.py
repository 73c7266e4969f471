"""Augmentation speed: each audio transform against its audiomentations counterpart, side by
side in one run (10 s of a real SPRSound recording at 8 kHz), and batch-export throughput
with 1 and 2 worker processes.

    .venv/bin/python bench/augment_bench.py [--repeats 30] [--files 40] [--write-docs]

Timings are medians over interleaved repeats (ours, theirs, ours, theirs...) so that load
from other processes on a shared machine hits both alike. Ours = randomize + apply, the
same work as an audiomentations ``__call__`` (which draws and applies).
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "sprsound" / "train"


def clip_10s() -> tuple[np.ndarray, int]:
    from clinaudio_gui.io import read_audio
    ys, sr = [], 8000
    for f in sorted(DATA.glob("*.flac"))[:3]:
        y, sr = read_audio(f)
        ys.append(y)
    y = np.concatenate(ys)[: 10 * sr]
    assert len(y) == 80000 and sr == 8000
    return y, sr


class _Librosa:
    """librosa.effects at our window (n_fft 512, hop 128 at 8 kHz): the same algorithm, so the
    outputs agree (tests/augment/test_transforms.py) and only the implementation differs."""

    def __init__(self, kind: str, value: float):
        self.kind, self.value = kind, value

    def __call__(self, y, sample_rate):
        import librosa
        if self.kind == "stretch":
            return librosa.effects.time_stretch(y, rate=self.value, n_fft=512, hop_length=128)
        return librosa.effects.pitch_shift(y, sr=sample_rate, n_steps=self.value, n_fft=512, hop_length=128)


def pairs():
    import audiomentations as am

    import clinaudio_gui.augment as A
    return [
        ("time shift (0.5 s, zero fill)", A.TimeShift(min_shift_s=0.5, max_shift_s=0.5),
         am.Shift(min_shift=0.5, max_shift=0.5, shift_unit="seconds", rollover=False, fade_duration=0.0, p=1.0)),
        ("pitch shift (+2 semitones), audiomentations default method", A.PitchShift(min_semitones=2.0, max_semitones=2.0),
         am.PitchShift(min_semitones=2.0, max_semitones=2.0, p=1.0)),
        ("pitch shift (+2), audiomentations method=librosa_phase_vocoder", A.PitchShift(min_semitones=2.0, max_semitones=2.0),
         am.PitchShift(min_semitones=2.0, max_semitones=2.0, method="librosa_phase_vocoder", p=1.0)),
        ("time stretch (0.7)", A.TimeStretch(min_rate=0.7, max_rate=0.7),
         am.TimeStretch(min_rate=0.7, max_rate=0.7, leave_length_unchanged=False, p=1.0)),
        ("time stretch (1.2)", A.TimeStretch(min_rate=1.2, max_rate=1.2),
         am.TimeStretch(min_rate=1.2, max_rate=1.2, leave_length_unchanged=False, p=1.0)),
        ("time stretch (0.7) vs librosa, same 512/128 window", A.TimeStretch(min_rate=0.7, max_rate=0.7),
         _Librosa("stretch", 0.7)),
        ("pitch shift (+2) vs librosa, same 512/128 window", A.PitchShift(min_semitones=2.0, max_semitones=2.0),
         _Librosa("pitch", 2.0)),
        ("white noise at SNR (20 dB)", A.AddNoise(min_snr_db=20.0, max_snr_db=20.0, color="white"),
         am.AddGaussianSNR(min_snr_db=20.0, max_snr_db=20.0, p=1.0)),
        ("gain (-6 dB)", A.Gain(min_gain_db=-6.0, max_gain_db=-6.0),
         am.Gain(min_gain_db=-6.0, max_gain_db=-6.0, p=1.0)),
        ("trim silence (30 dB)", A.TrimSilence(threshold_db=-30.0),
         am.Trim(top_db=30.0, p=1.0)),
    ]


def bench_transforms(repeats: int) -> list[dict]:
    y, sr = clip_10s()
    rows = []
    rng = np.random.default_rng(0)
    for name, ours, theirs in pairs():
        ours.apply(y, sr, ours.randomize(rng))     # warm (numba JIT of librosa etc.)
        theirs(y, sample_rate=sr)
        theirs(y, sample_rate=sr)
        to, tt = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            ours.apply(y, sr, ours.randomize(rng))
            to.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            theirs(y, sample_rate=sr)
            tt.append(time.perf_counter() - t0)
        mo, mt = float(np.median(to)) * 1e3, float(np.median(tt)) * 1e3
        rows.append({"name": name, "ours_ms": mo, "theirs_ms": mt, "speedup": mt / mo})
        print(f"{name:60s} ours {mo:8.3f} ms  reference {mt:8.3f} ms  x{mt / mo:5.2f}", flush=True)
    return rows


def bench_batch(n_files: int) -> list[dict]:
    import clinaudio_gui.augment as A
    from clinaudio_gui.augment.batch import run_batch
    tmp = Path(tempfile.mkdtemp(prefix="augbench-"))
    try:
        src = tmp / "in"
        src.mkdir()
        files = sorted(DATA.glob("*.flac"))[:n_files]
        seconds = 0.0
        for f in files:
            shutil.copy(f, src / f.name)
            shutil.copy(f.with_suffix(".json"), src / f.with_suffix(".json").name)
            import soundfile as sf
            seconds += sf.info(str(f)).duration
        rows = []
        for workers in (1, 2):
            out = tmp / f"out{workers}"
            t0 = time.perf_counter()
            res = run_batch(A.load_recipe("naa"), src, out, per_file=6, seed=0, workers=workers)
            dt = time.perf_counter() - t0
            rows.append({"workers": workers, "inputs": len(files), "outputs": res.written, "seconds": dt,
                         "rec_per_s": res.written / dt, "audio_s": seconds * 6})
            print(f"batch naa x6, {workers} worker(s): {res.written} recordings in {dt:.2f} s = "
                  f"{res.written / dt:.1f} recordings/s", flush=True)
        a = {p.name: p.read_bytes() for p in (tmp / "out1").iterdir()}
        b = {p.name: p.read_bytes() for p in (tmp / "out2").iterdir()}
        print("1 vs 2 workers byte-identical:", a == b)
        rows.append({"identical": a == b})
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_LOADS: list[float] = []


def load_text() -> str:
    return f"{min(_LOADS):.1f}-{max(_LOADS):.1f}" if _LOADS else "n/a"


def bench_panel(moves: int = 12) -> list[dict]:
    """Slider move -> draw applied -> waveform + spectrogram set and painted, in the real panel
    inside the real main window (offscreen Qt), on a 9.2 s SPRSound recording at 8 kHz."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="augbench-qs-")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([])
    from clinaudio_gui.ui.qt_augment_panel import QtAugmentPanel
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    tmp = Path(tempfile.mkdtemp(prefix="augbench-gui-"))
    name = "40638274_9.7_1_p2_1801"
    for suf in (".flac", ".json"):
        shutil.copy(DATA / (name + suf), tmp / (name + suf))
    w = QtMainWindow(load_panels=False)
    panel = QtAugmentPanel(w)
    w.show()
    panel.show()
    w.open_path(tmp / (name + ".flac"))
    t_end = time.time() + 20
    while time.time() < t_end and not (w.timeline.is_fully_drawn() and w.timeline.overview_complete()):
        app.processEvents()
        time.sleep(0.01)
    rows = []
    for tname, lo, hi in (("PitchShift", -2.0, 2.0), ("TimeStretch", 0.8, 1.25), ("AddNoise", 10.0, 30.0)):
        panel.set_enabled([tname])
        panel.select_transform(tname)
        panel.recompute_now()
        got: list[float] = []
        panel.previewUpdated.connect(got.append)

        def settle():
            while panel._busy or panel._pending or panel._redraw_timer.isActive():
                app.processEvents()
        settle()
        times = []
        for v in np.linspace(lo, hi, moves):
            got.clear()
            t0 = time.perf_counter()
            panel.set_slider_value(float(v))        # the real path: timer -> preview thread -> draw
            if not got:                              # an idle event loop, as in the app (no busy spin)
                loop = QEventLoop()
                panel.previewUpdated.connect(loop.quit)
                QTimer.singleShot(5000, loop.quit)
                loop.exec()
                panel.previewUpdated.disconnect(loop.quit)
            app.processEvents()
            times.append((time.perf_counter() - t0) * 1e3)
            settle()
        panel.previewUpdated.disconnect(got.append)
        rows.append({"transform": tname, "median_ms": float(np.median(times)), "max_ms": float(np.max(times))})
        print(f"panel slider redraw {tname}: median {np.median(times):.1f} ms, max {np.max(times):.1f} ms", flush=True)
    panel.close()
    w.close()
    app.processEvents()
    shutil.rmtree(tmp, ignore_errors=True)
    return rows


def markdown(rows, batch, cmd: str, panel_rows=()) -> str:
    import audiomentations
    lines = ["Command: `" + cmd + "`", "",
             f"10 s of real SPRSound audio at 8 kHz (80,000 samples, float32); median of interleaved repeats; "
             f"ours = `randomize` + `apply`; audiomentations {audiomentations.__version__} `__call__` "
             f"(its default pitch/stretch method unless named). Python {platform.python_version()}, numpy "
             f"{np.__version__}. Load average during the run: {load_text()} on {os.cpu_count()} cores "
             f"(shared machine: absolute times scale with load, the side-by-side ratios much less).", "",
             "| transform | ours (ms) | audiomentations / librosa (ms) | speed-up |", "|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['ours_ms']:.3f} | {r['theirs_ms']:.3f} | x{r['speedup']:.2f} |")
    lines += ["", "Batch export (`run_batch`, recipe `naa`, 6 copies per file, SPRSound FLAC + JSON in, "
              "FLAC + JSON + manifest out; 2 workers include the spawn start-up):", "",
              "| workers | inputs | recordings written | seconds | recordings / s |", "|---:|---:|---:|---:|---:|"]
    for r in batch:
        if "workers" in r:
            lines.append(f"| {r['workers']} | {r['inputs']} | {r['outputs']} | {r['seconds']:.2f} | "
                         f"{r['rec_per_s']:.1f} |")
    w = {r["workers"]: r for r in batch if "workers" in r}
    if 1 in w and 2 in w:
        lines += ["", f"2 workers give x{w[2]['rec_per_s'] / w[1]['rec_per_s']:.2f} the throughput of 1 here "
                      f"(load average {load_text()} on {os.cpu_count()} shared cores: there is no idle core "
                      f"for a second worker; not measured on an idle machine)."]
    if panel_rows:
        lines += ["", "GUI preview (real `QtAugmentPanel` in the real main window, offscreen Qt, 9.2 s SPRSound "
                  "recording at 8 kHz): slider move -> draw applied in the preview thread -> waveform + spectrogram "
                  "set and painted; "
                  "target 100 ms:", "", "| transform on the slider | median (ms) | worst (ms) |", "|---|---:|---:|"]
        for r in panel_rows:
            lines.append(f"| {r['transform']} | {r['median_ms']:.1f} | {r['max_ms']:.1f} |")
    ident = [r for r in batch if "identical" in r]
    if ident:
        lines.append("")
        lines.append(f"Output of 1 and 2 workers byte-identical: {'yes' if ident[0]['identical'] else 'NO'}.")
    return "\n".join(lines) + "\n"


def write_docs(text: str) -> None:
    doc = REPO / "docs" / "benchmarks.md"
    s = doc.read_text()
    m = re.search(r"(## augment \(bench/augment_bench\.py\)\n)(.*?)(?=\n## |\Z)", s, flags=re.S)
    if not m:
        raise SystemExit("docs/benchmarks.md has no '## augment (bench/augment_bench.py)' section")
    s = s[:m.start(2)] + text + s[m.end(2):]
    doc.write_text(s)
    print(f"updated {doc}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--no-gui", action="store_true", help="skip the Qt panel redraw timing")
    args = ap.parse_args()
    _LOADS.append(os.getloadavg()[0])
    rows = bench_transforms(args.repeats)
    _LOADS.append(os.getloadavg()[0])
    batch = bench_batch(args.files)
    _LOADS.append(os.getloadavg()[0])
    panel_rows = []
    if not args.no_gui:
        panel_rows = bench_panel()
        _LOADS.append(os.getloadavg()[0])
    text = markdown(rows, batch, "python bench/augment_bench.py " + " ".join(sys.argv[1:]), panel_rows)
    print(text)
    if args.write_docs:
        write_docs(text)


if __name__ == "__main__":
    main()
