"""Real audio through a real (virtual) microphone: a private PulseAudio server, a real SPRSound
recording played into it with paplay, captured through PortAudio by clinaudio_gui.live."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import psutil
import pytest

from clinaudio_gui.cli import main as cli_main
from clinaudio_gui.io import read_audio
from clinaudio_gui.live import (AudioCapture, LiveAudioError, LiveSession, StreamingResampler, find_input_device,
                                list_input_devices, open_stream_count)

from .conftest import (PAD_S, lag_samples, padded_copy, play_into_mic, second_server, source_outputs,
                       wait_for_audio)

pytestmark = pytest.mark.audio
DEVICE = "pulse"  # PortAudio's ALSA device that talks to the (private) sound server


def test_devices_listed_and_found_by_name(pulse_server):
    devices = list_input_devices(rescan=True)
    names = [d.name for d in devices]
    assert DEVICE in names
    d = find_input_device("PULS")  # case-insensitive part of a name
    assert d.name == DEVICE and d.max_input_channels >= 1
    with pytest.raises(LiveAudioError, match="no input device named 'stethoscope-xyz'.*available"):
        find_input_device("stethoscope-xyz")


def test_capture_is_the_played_audio(pulse_server, live_recording, tmp_path):
    """Captured at the device rate (44.1 kHz), resampled in 20 ms blocks to 8 kHz: after the
    lag it is the file, sample for sample (correlation), with no overrun."""
    wav, y, sr = padded_copy(live_recording, tmp_path, seconds=4.0)
    cap = AudioCapture(DEVICE)
    assert cap.capture_rate_hz != sr  # the resampler is really in the path
    reader = cap.reader(from_start=True)
    rs = StreamingResampler(orig_sr=cap.capture_rate_hz, target_sr=sr)
    out = []
    with cap:
        wait_for_audio(cap)
        player = play_into_mic(wav, pulse_server)
        t_end = time.monotonic() + 4.0 + 2 * PAD_S + 1.0
        while time.monotonic() < t_end:
            time.sleep(0.03)
            out.append(rs.process(reader.read()[1]))
        player.wait(timeout=10)
    got = np.concatenate(out)
    lag = lag_samples(got, y, sr)
    seg = got[lag:lag + len(y)]
    assert len(seg) == len(y), f"capture too short: lag {lag / sr:.2f} s, {len(got) / sr:.2f} s captured"
    r = float(np.corrcoef(seg, y)[0, 1])
    assert r > 0.995, f"captured vs file correlation {r:.4f} (lag {lag / sr:.3f} s)"
    assert cap.input_overflows == 0 and reader.overruns == 0
    assert 0.3 < lag / sr < 1.5  # ~0.45 s server lag + 0.5 s padding
    assert cap.health() is None


def test_live_classification_agrees_with_offline(pulse_server, live_recording, live_classifier, tmp_path,
                                                 capsys):
    clf = live_classifier
    seconds = 8.0
    wav, y, sr = padded_copy(live_recording, tmp_path, seconds=seconds)
    assert sr == clf.sample_rate_hz
    hop_s = 0.25
    s = LiveSession(clf, device=DEVICE, hop_s=hop_s)
    s.start()
    try:
        wait_for_audio(s.capture)
        player = play_into_mic(wav, pulse_server)
        player.wait(timeout=30)
        time.sleep(0.6)  # the server's lag: let the tail arrive
    finally:
        s.stop()
    assert s.error is None, s.error
    preds = s.predictions
    audio = s.audio()
    n_expected = int((len(audio) / sr - clf.window_s) / hop_s) + 1
    assert len(preds) >= n_expected - 1 and len(preds) >= 20
    assert s.overruns == 0 and s.skipped_windows == 0
    st = s.latency_stats()
    load = os.getloadavg()[0]
    overhead_ms = [p.latency_ms - p.compute_ms for p in preds]  # block arrival -> classifier starts
    report = [f"live latency p50 {st['latency_p50_ms']:.1f} ms, p95 {st['latency_p95_ms']:.1f} ms "
              f"(classifier p50 {st['compute_p50_ms']:.1f} ms; our path p95 "
              f"{np.percentile(overhead_ms, 95):.1f} ms), load average {load:.1f}"]
    if load <= 1.5 * (os.cpu_count() or 1):
        assert st["latency_p95_ms"] < 100.0, st
        assert float(np.percentile(overhead_ms, 95)) < 30.0, overhead_ms
    else:  # other jobs saturate the 2 cores (several trainings make every step 3-5x slower)
        warnings.warn(f"load average {load:.1f} on {os.cpu_count()} CPUs: latency target not asserted; "
                      + report[0])
        assert st["latency_p50_ms"] < 150.0, st  # still keeping up with the stream

    # the same windows of the file, classified offline by the same model
    lag = lag_samples(audio, y, sr)
    assert float(np.corrcoef(audio[lag:lag + len(y)], y)[0, 1]) > 0.995
    win = int(round(clf.window_s * sr))
    same = total = 0
    prob_diff = []
    for p in preds:
        a = int(round(p.start_s * sr)) - lag
        if a < 0 or a + win > len(y):
            continue  # the window holds padding or silence, not the file
        label, _, probs = clf.predict(y[a:a + win], sr)
        same += label == p.label
        total += 1
        prob_diff.append(max(abs(probs[k] - v) for k, v in zip(clf.labels, p.probs)))
    assert total >= 15
    agreement = same / total
    assert agreement >= 0.8, f"live vs offline agreement {agreement:.2f} over {total} windows"
    # not only the arg-max: the probabilities themselves match (a label-independent check)
    report.append(f"live vs offline probability difference: median {np.median(prob_diff):.3f}, "
                  f"max {np.max(prob_diff):.3f}")
    assert float(np.median(prob_diff)) < 0.05 and float(np.percentile(prob_diff, 90)) < 0.15, prob_diff

    # and `clinaudio classify` (hop 0.25 s) on the whole file: the label it gives the time at
    # each live window's centre
    model = os.environ.get("CLINAUDIO_TEST_MODEL")
    args = ["classify", str(live_recording), "--hop", "0.25", "--json", "--device", "cpu"]
    if not model:   # the window classifier this test runs live (classify's default is the detector)
        from clinaudio_gui.engine.common.package import models_root
        model = str(models_root() / "classifier-1-2")
    args += ["--model", model]
    capsys.readouterr()
    assert cli_main(args) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    same_cli = total_cli = 0
    for p in preds:
        centre_s = (p.start_s + p.end_s) / 2 - lag / sr
        if centre_s - clf.window_s / 2 < 0 or centre_s + clf.window_s / 2 > seconds:
            continue
        ev = [e for e in events if e["start_s"] <= centre_s < e["end_s"]]
        same_cli += bool(ev) and ev[0]["label"] == p.label
        total_cli += 1
    assert total_cli >= 15
    report.append(f"agreement with Classifier.predict {agreement:.2f} ({total} windows), "
                  f"with clinaudio classify {same_cli / total_cli:.2f} ({total_cli} windows)")
    with capsys.disabled():
        print("\n" + "\n".join(report))
    assert same_cli / total_cli >= 0.7, f"live vs `clinaudio classify` agreement {same_cli / total_cli:.2f}"

    # the record-level verdict and the suggestion segments cover the session
    label, conf, probs = s.verdict()
    assert label in clf.labels and 0 < conf <= 1 and abs(sum(probs) - 1) < 1e-3
    sugg = s.suggestions()
    assert sugg.record_label is None and sugg.metadata["verdict"] == label  # an event model
    assert all(seg.source == "model" and seg.confidence is not None for seg in sugg.segments)
    assert sugg.segments[0].start_s == round(preds[0].start_s, 4)
    assert abs(sugg.segments[-1].end_s - preds[-1].end_s) < 1e-3
    # saved as a new recording: audio + predictions, both readable
    audio_path, side = s.save_recording(tmp_path / "live_session.flac")
    back, back_sr = read_audio(audio_path)
    assert back_sr == sr and len(back) == len(audio)
    doc = json.loads(side.read_text())
    assert len(doc["predictions"]) == len(preds) and doc["summary"]["overruns"] == 0


def test_a_consumer_that_falls_behind_counts_overruns(pulse_server):
    """A 0.3 s ring read only after ~1.5 s: the reader counts the loss and gets intact audio."""
    cap = AudioCapture(DEVICE, ring_s=0.3)
    reader = cap.reader(from_start=True)
    with cap:
        wait_for_audio(cap)
        time.sleep(1.5)
        start, data = reader.read()
    assert reader.overruns == 1
    assert reader.lost_frames >= int(0.8 * cap.capture_rate_hz)
    assert start == reader.lost_frames and len(data) <= cap.ring.capacity
    assert reader.index == start + len(data)


def test_start_stop_20_times_leaks_nothing(pulse_server):
    proc = psutil.Process()
    s = LiveSession(None, device=DEVICE)
    s.start()
    time.sleep(0.2)
    s.stop()  # the first start may create PortAudio / ALSA state that lives on
    base_outputs = source_outputs(pulse_server)  # the remap module's own stream is one
    base_threads, base_py = proc.num_threads(), threading.active_count()
    base_fds = proc.num_fds()
    for _ in range(20):
        s.start()
        assert s.running and open_stream_count() == 1
        assert source_outputs(pulse_server) == base_outputs + 1  # the server sees our stream
        time.sleep(0.05)
        s.stop()
    assert open_stream_count() == 0
    assert threading.active_count() == base_py
    time.sleep(0.2)
    assert proc.num_threads() == base_threads
    assert proc.num_fds() <= base_fds + 2
    t0 = time.monotonic()  # the server drops a closed stream asynchronously
    while source_outputs(pulse_server) > base_outputs and time.monotonic() - t0 < 3.0:
        time.sleep(0.1)
    assert source_outputs(pulse_server) == base_outputs


def test_device_that_vanishes_mid_stream_gives_a_clear_error(pulse_server, tmp_path, monkeypatch):
    """A second sound server stands for a USB stethoscope: we capture from it, then kill it."""
    runtime = tmp_path / "rt2"
    runtime.mkdir(mode=0o700)
    env2 = second_server(runtime)
    try:
        monkeypatch.setenv("PULSE_SERVER", f"unix:{runtime / 'pulse' / 'native'}")
        s = LiveSession(None, device=DEVICE, stall_s=1.0)
        s.start()
        wait_for_audio(s.capture)
        subprocess.run(["pulseaudio", "--kill"], env=env2, capture_output=True)
        t0 = time.monotonic()
        while s.running and time.monotonic() - t0 < 5:
            time.sleep(0.05)
        assert not s.running, "the session did not notice the device went away"
        assert s.error and "pulse" in s.error
        assert "disconnected" in s.error or "stopped" in s.error
        s.stop()
        assert open_stream_count() == 0
    finally:
        subprocess.run(["pulseaudio", "--kill"], env=env2, capture_output=True)
    # the rest keeps working: the virtual mic of the main server still captures
    monkeypatch.delenv("PULSE_SERVER")
    s2 = LiveSession(None, device=DEVICE)
    s2.start()
    wait_for_audio(s2.capture)
    time.sleep(0.1)
    s2.stop()
    assert s2.error is None and s2.duration_s > 0


def _run_cli(args, env, timeout=120):
    return subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_no_input_device_is_a_clear_error(tmp_path):
    """No sound server reachable and (on CI) no sound card: PortAudio lists no input device."""
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path), PULSE_SERVER=f"unix:{tmp_path / 'none'}")
    listed = _run_cli(["live", "--list-devices", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    if listed.stdout.strip():
        pytest.skip(f"this machine has real input devices: {listed.stdout.strip()[:200]}")
    r = _run_cli(["live", "--duration", "1"], env)
    assert r.returncode == 2, r.stderr
    assert "no audio input device found" in r.stderr
    assert "Traceback" not in r.stderr


def test_portaudio_missing_is_a_clear_error(tmp_path):
    """libportaudio not found: `import sounddevice` raises OSError; the CLI says so."""
    code = ("import ctypes.util as u; f = u.find_library; "
            "u.find_library = lambda n: None if 'portaudio' in n else f(n); "
            "from clinaudio_gui.cli import main; raise SystemExit(main(['live', '--list-devices']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "PortAudio" in r.stderr and "libportaudio2" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_live_json_lines(pulse_server, live_recording, tmp_path):
    wav, _, _ = padded_copy(live_recording, tmp_path, seconds=10.0)
    env = dict(os.environ)
    r = _run_cli(["live", "--list-devices", "--json"], env)
    assert r.returncode == 0 and any(json.loads(ln)["name"] == DEVICE for ln in r.stdout.splitlines())
    model = os.environ.get("CLINAUDIO_TEST_MODEL")
    model_args = ["--model", model] if model else ["--task", "1-2"]
    player = play_into_mic(wav, pulse_server)  # the model loads while the first seconds play
    try:
        r = _run_cli(["live", "--device", DEVICE, *model_args, "--duration", "3", "--hop", "0.5",
                      "--json", "--save", str(tmp_path / "cli_live.flac")], env)
    finally:
        player.wait(timeout=30)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]
    preds, summary = lines[:-1], lines[-1]
    assert len(preds) >= 2
    for p in preds:
        assert set(p) >= {"t_s", "label", "confidence", "latency_ms"}
        assert 0 <= p["confidence"] <= 1 and p["latency_ms"] > 0
    assert [p["t_s"] for p in preds] == sorted(p["t_s"] for p in preds)
    assert {"overruns", "latency_p50_ms", "latency_p95_ms"} <= set(summary)
    assert summary["overruns"] == 0 and summary["predictions"] == len(preds)
    assert (tmp_path / "cli_live.flac").exists() and (tmp_path / "cli_live.live.json").exists()
