"""Live audio path against the plain approaches, side by side in one run.

    .venv/bin/python bench/live_bench.py            # about 30 s (plus ~15 s with a sound server)
    .venv/bin/python bench/live_bench.py --no-device

Input: a real SPRSound recording (8 kHz), brought to 44.1 kHz (what sound cards deliver) and cut
into 20 ms blocks, as the PortAudio callback sees them. Each row is best-of-N (the machine is
shared and noisy), ours and the reference alternating. Ratios: reference time / ours.

* callback: our ring write vs ``queue.put(indata.copy())`` (the sounddevice examples' pattern).
* resampling 44.1 -> 8 kHz in 20 ms blocks: our stateful polyphase vs ``resample_poly`` on the
  whole signal (the offline reference it must equal) and vs stateless ``resample_poly`` per block
  (the plain streaming approach, which clicks at every block edge: its error is shown).
* display frame: our rolling spectrogram (only new frames) vs recomputing ``stft_db`` of the whole
  8 s view every frame (the plain approach), 40 frames per second of audio.
* end to end (when a sound server with a virtual mic is running, e.g. the test fixture's, or
  the one ``--pulse`` starts): a recording played into the virtual mic, classified live by the
  bundled task 1-2 model; latency p50 / p95 and overruns.
"""
from __future__ import annotations

import argparse
import os
import platform
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from math import gcd
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("CLINAUDIO_SHARED_DATA", REPO.parent / "shared" / "data"))


def best_of(fn, n: int) -> float:
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def recording() -> tuple[Path, np.ndarray, int]:
    from clinaudio_gui.io import read_audio
    f = sorted((DATA / "sprsound" / "train").glob("*.flac"))[0]
    y, sr = read_audio(f)
    return f, y, sr


def bench_callback(blocks: list[np.ndarray], reps: int) -> tuple[float, float]:
    from clinaudio_gui.live import RingBuffer
    ring = RingBuffer(44100 * 60)
    q: queue.Queue = queue.Queue()
    two_d = [b[:, None] for b in blocks]  # PortAudio hands the callback (frames, channels)

    def ours():
        for b in two_d:
            ring.write(b[:, 0])

    def plain():
        for b in two_d:
            q.put(b.copy())
        while not q.empty():
            q.get_nowait()
    t_ours, t_plain = [], []
    for _ in range(reps):
        t_ours.append(best_of(ours, 1))
        t_plain.append(best_of(plain, 1))
    n = len(blocks)
    return min(t_ours) / n, min(t_plain) / n


def bench_resample(x44: np.ndarray, blocks: list[np.ndarray], reps: int) -> dict:
    from scipy.signal import resample_poly

    from clinaudio_gui.live import StreamingResampler
    g = gcd(44100, 8000)
    up, down = 8000 // g, 44100 // g

    def ours():
        r = StreamingResampler(orig_sr=44100, target_sr=8000)
        return np.concatenate([r.process(b) for b in blocks])

    def whole():
        return resample_poly(x44, up, down)

    def per_block():
        return np.concatenate([resample_poly(b, up, down) for b in blocks])
    t = {"ours": [], "whole": [], "per_block": []}
    for _ in range(reps):
        t["ours"].append(best_of(ours, 1))
        t["whole"].append(best_of(whole, 1))
        t["per_block"].append(best_of(per_block, 1))
    ref = whole()
    o = ours()
    pb = per_block()[: len(ref)]
    return {k: min(v) for k, v in t.items()} | {
        "err_ours": float(np.abs(o - ref[: len(o)]).max()),
        "err_per_block": float(np.abs(pb - ref[: len(pb)]).max()),
        "audio_s": len(x44) / 44100}


def bench_display(y8: np.ndarray, reps: int) -> tuple[float, float, int]:
    from clinaudio_gui.dsp import stft_db
    from clinaudio_gui.live.display import RollingSpectrogram
    per_frame = 8000 // 40  # 40 display frames per second of audio
    chunks = [y8[i:i + per_frame] for i in range(0, len(y8), per_frame)]
    view = 8 * 8000

    def ours():
        roll = RollingSpectrogram(sample_rate_hz=8000, n_fft=256, hop=128, history_s=8.0)
        for c in chunks:
            roll.push(c)
            roll.image()

    def plain():
        buf = np.zeros(0, np.float32)
        for c in chunks:
            buf = np.concatenate([buf, c])[-view:]
            stft_db(buf, sample_rate_hz=8000, n_fft=256, hop=128)
    t_o, t_p = [], []
    for _ in range(reps):
        t_o.append(best_of(ours, 1))
        t_p.append(best_of(plain, 1))
    return min(t_o) / len(chunks), min(t_p) / len(chunks), len(chunks)


def start_pulse() -> tuple[dict, str]:
    runtime = tempfile.mkdtemp(prefix="clinaudio-bench-pulse-")
    os.chmod(runtime, 0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime, PULSE_RUNTIME_PATH=os.path.join(runtime, "pulse"))
    env.pop("PULSE_SERVER", None)
    subprocess.run(["pulseaudio", "--daemonize=yes", "-n", "--exit-idle-time=-1", "--disallow-exit",
                    "-L", "module-native-protocol-unix",
                    "-L", "module-null-sink sink_name=vmic_feed rate=16000 channels=1",
                    "-L", "module-remap-source master=vmic_feed.monitor source_name=vmic"],
                   check=True, capture_output=True, env=env)
    for _ in range(50):
        if subprocess.run(["pactl", "info"], capture_output=True, env=env).returncode == 0:
            break
        time.sleep(0.1)
    subprocess.run(["pactl", "set-default-source", "vmic"], check=True, env=env)
    os.environ.update({k: env[k] for k in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH")})
    os.environ.pop("PULSE_SERVER", None)
    return env, runtime


def bench_end_to_end(f: Path, seconds: float, hop_s: float) -> dict | None:
    import torch

    from clinaudio_gui.engine.classifier.inference import Classifier
    from clinaudio_gui.io import read_audio, write_audio
    from clinaudio_gui.live import LiveSession, list_input_devices
    if "pulse" not in [d.name for d in list_input_devices(rescan=True)]:
        return None
    torch.set_num_threads(1)
    clf = Classifier.load(task="1-2", device="cpu")
    clf.predict(np.zeros(16000, np.float32), 8000)
    y, sr = read_audio(f, end_s=seconds)
    pad = np.zeros(sr // 2, np.float32)
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "play.wav"
        write_audio(wav, np.concatenate([pad, y, pad]), sr)
        s = LiveSession(clf, device="pulse", hop_s=hop_s)
        s.start()
        t0 = time.monotonic()
        while s.capture.frames_captured == 0 and time.monotonic() - t0 < 5:
            time.sleep(0.01)
        subprocess.run(["paplay", "--device=vmic_feed", str(wav)], check=True)
        time.sleep(0.6)
        s.stop()
    return s.summary()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--no-device", action="store_true", help="skip the end-to-end run")
    ap.add_argument("--pulse", action="store_true",
                    help="start a private PulseAudio server with a virtual mic for the end-to-end run")
    ap.add_argument("--seconds", type=float, default=8.0)
    args = ap.parse_args(argv)
    from clinaudio_gui.live import StreamingResampler
    f, y, sr = recording()
    x44 = StreamingResampler(orig_sr=sr, target_sr=44100).process(y)
    blocks = [x44[i:i + 882] for i in range(0, len(x44), 882)]
    print(f"# live bench: {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
          f"input {f.name} ({len(y) / sr:.1f} s), 44.1 kHz in {len(blocks)} blocks of 20 ms\n")
    print("| step | ours | reference | ratio |")
    print("|---|---|---|---|")
    ours_cb, plain_cb = bench_callback(blocks, args.reps)
    print(f"| callback: store one 20 ms block | ring write {ours_cb * 1e6:.1f} us | "
          f"queue.put(copy) {plain_cb * 1e6:.1f} us | {plain_cb / ours_cb:.1f}x |")
    r = bench_resample(x44, blocks, args.reps)
    print(f"| resample {r['audio_s']:.1f} s 44.1->8 kHz, 20 ms blocks | stateful {r['ours'] * 1e3:.1f} ms "
          f"(max err {r['err_ours']:.1e} vs offline) | resample_poly whole signal {r['whole'] * 1e3:.1f} ms | "
          f"{r['whole'] / r['ours']:.2f}x |")
    print(f"| same, plain streaming | stateful {r['ours'] * 1e3:.1f} ms | resample_poly per block "
          f"{r['per_block'] * 1e3:.1f} ms (max err {r['err_per_block']:.1e}: steps at block edges) | "
          f"{r['per_block'] / r['ours']:.2f}x |")
    y8 = y
    o, p, n = bench_display(y8, args.reps)
    print(f"| display frame (8 s spectrogram view, 40 fps) | rolling {o * 1e3:.2f} ms | stft_db of the "
          f"view {p * 1e3:.2f} ms | {p / o:.1f}x |")
    if args.no_device:
        return 0
    runtime = None
    try:
        if args.pulse:
            if shutil.which("pulseaudio") is None:
                print("\nend to end: pulseaudio not installed")
                return 0
            env, runtime = start_pulse()
        summ = bench_end_to_end(f, args.seconds, 0.25)
    finally:
        if runtime:
            subprocess.run(["pulseaudio", "--kill"], capture_output=True, env=env)
            shutil.rmtree(runtime, ignore_errors=True)
    if summ is None:
        print("\nend to end: no 'pulse' input device (run with --pulse)")
        return 0
    print(f"\nend to end ({args.seconds:g} s of {f.name} into the virtual mic, bundled task 1-2 model, "
          f"window 2 s, hop 0.25 s, 1 torch thread):")
    print(f"predictions {summ['predictions']}, overruns {summ['overruns']}, latency p50 "
          f"{summ['latency_p50_ms']:.1f} ms, p95 {summ['latency_p95_ms']:.1f} ms, max "
          f"{summ['latency_max_ms']:.1f} ms (classifier alone p50 {summ['compute_p50_ms']:.1f} ms, "
          f"p95 {summ['compute_p95_ms']:.1f} ms); device buffer {summ['input_latency_ms']:.0f} ms; "
          f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
