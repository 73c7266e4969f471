"""Detector speed and memory, each beside a named reference measured in the same run.

    .venv/bin/python bench/detector_bench.py [--folder-n 700] [--hour-min 60] [--markdown]

1. A 10 s recording detected on one CPU thread after load (target < 50 ms); reference: librosa's
   64-band log-mel spectrogram of the same audio (a cost every audio tool pays), and the older
   sliding-window classifier (task 1-2) on the same audio.
2. A folder of N SPRSound recordings through `clinaudio detect DIR --json --workers 2` (target:
   700 in < 90 s on 2 cores); reference: the same command with --workers 1.
3. Peak memory of `clinaudio detect` on an hour-long 8 kHz file (target < 1 GB, flat); reference:
   the same command on a 10 s file (what loading the model and libraries costs).
4. Streaming: per-push latency of the live detector (0.5 s steps) over 60 s of a real recording.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "sprsound" / "train"
EXAMPLE = REPO / "resources" / "examples" / "40638274_9.7_1_p2_1801.flac"
CLI = [sys.executable, "-m", "clinaudio_gui.cli"]


def timeit(fn, n=15):
    fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def peak_rss_mb(cmd) -> tuple[float, float]:
    """(wall s, peak RSS MB of the child) via wait4's rusage."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}")
    return time.perf_counter() - t, ru.ru_maxrss / 1024.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder-n", type=int, default=700)
    ap.add_argument("--hour-min", type=float, default=60.0)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    import librosa

    from clinaudio_gui.engine.classifier.inference import Classifier
    from clinaudio_gui.engine.detector.infer import load_detector
    from clinaudio_gui.engine.detector.stream import StreamingDetector
    from clinaudio_gui.io import read_audio
    from clinaudio_gui.io.audio import write_audio

    det = load_detector()
    y, sr = read_audio(EXAMPLE)
    y10 = np.tile(y, 2)[: 10 * sr]
    rows = []
    t_det = timeit(lambda: det.detect(y10, sr))
    t_mel = timeit(lambda: librosa.power_to_db(librosa.feature.melspectrogram(y=y10, sr=sr, n_mels=64)))
    clf = Classifier.load(task="1-2", device="cpu")
    t_clf = timeit(lambda: clf.classify_recording(y10, sr), n=5)
    os.environ["CLINAUDIO_NO_JIT"] = "1"     # the same package without the compiled kernels
    plain = load_detector()
    t_plain = timeit(lambda: plain.detect(y10, sr))
    del os.environ["CLINAUDIO_NO_JIT"]
    rows.append(("detect a 10 s recording, 1 thread (target < 50 ms)", f"{t_det * 1000:.1f} ms",
                 f"librosa 64-mel: {t_mel * 1000:.1f} ms (x{t_det / t_mel:.1f}); "
                 f"old window classifier 1-2: {t_clf * 1000:.1f} ms (x{t_det / t_clf:.2f}); "
                 f"same detector without compiled kernels (torch GRU, numpy trees): {t_plain * 1000:.1f} ms "
                 f"(x{t_det / t_plain:.2f})"))

    s = StreamingDetector(det)
    yl = np.tile(y, 7)[: 60 * sr]
    lat = []
    for i in range(0, len(yl), 160):
        t = time.perf_counter()
        s.push(yl[i:i + 160])
        lat.append(time.perf_counter() - t)
    lat = np.array(lat) * 1000
    runs = lat[lat > 1.0]
    rows.append(("live detector, one 0.5 s step (8 s context)",
                 f"p50 {np.percentile(runs, 50):.1f} ms, p95 {np.percentile(runs, 95):.1f} ms, max {runs.max():.1f} ms",
                 "budget: the 500 ms step (target p95 < 100 ms)"))

    with tempfile.TemporaryDirectory() as td:
        td = Path(td)
        folder = td / "folder"
        folder.mkdir()
        for f in sorted(DATA.glob("*.flac"))[: a.folder_n]:
            os.symlink(f, folder / f.name)
        n = len(list(folder.iterdir()))
        w2, _ = peak_rss_mb(CLI + ["detect", str(folder), "--json", "--workers", "2"])
        w1, _ = peak_rss_mb(CLI + ["detect", str(folder), "--json", "--workers", "1"])
        rows.append((f"folder of {n} recordings, --workers 2 (target 700 in < 90 s)", f"{w2:.1f} s",
                     f"--workers 1: {w1:.1f} s (x{w1 / w2:.2f} faster with 2)"))
        hour = td / "hour.flac"
        reps = int(np.ceil(a.hour_min * 60 / (len(y) / sr)))
        write_audio(hour, np.tile(y, reps)[: int(a.hour_min * 60 * sr)], sr)
        short = td / "short.flac"
        write_audio(short, y10, sr)
        wt, rss_h = peak_rss_mb(CLI + ["detect", str(hour), "--json"])
        _, rss_s = peak_rss_mb(CLI + ["detect", str(short), "--json"])
        os.environ["CLINAUDIO_NO_JIT"] = "1"      # the child inherits it: no numba in that process
        _, rss_p = peak_rss_mb(CLI + ["detect", str(hour), "--json"])
        del os.environ["CLINAUDIO_NO_JIT"]
        rows.append((f"{a.hour_min:g}-minute file: peak memory (target < 1 GB)", f"{rss_h:.0f} MB ({wt:.0f} s)",
                     f"10 s file: {rss_s:.0f} MB (x{rss_h / rss_s:.2f}); same file without compiled "
                     f"kernels: {rss_p:.0f} MB (x{rss_h / rss_p:.2f})"))
    if a.markdown:
        print("| measurement | result | reference, same run |\n|---|---|---|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]} |")
    else:
        for r in rows:
            print(" | ".join(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
