"""`clinaudio live`: classify a microphone / stethoscope stream as it arrives.

One JSON line per prediction (``t_s``, ``label``, ``confidence``, ``latency_ms``), then one
summary line (``overruns``, ``latency_p50_ms``, ``latency_p95_ms``, ...). ``--list-devices``
lists the input devices. ``--save FILE`` keeps the session's audio and predictions.
"""
from __future__ import annotations

import json
import sys
import time

TASK_CHOICES = ("1-1", "1-2", "2-1", "2-2")


def register(subparsers) -> None:
    p = subparsers.add_parser("live", help="classify live audio input (microphone, stethoscope)",
                              description="Capture from an input device, resample to the model's rate and "
                                          "classify sliding windows as they arrive.")
    p.add_argument("--list-devices", action="store_true", help="list the input devices and exit")
    p.add_argument("--device", default=None, help="input device name (or part of it) or index; "
                                                  "default: the system's default input")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--model", default=None, metavar="MODEL_DIR",
                   help="detector or classifier package folder (default: the bundled detector)")
    g.add_argument("--task", default=None, choices=TASK_CHOICES,
                   help="use the bundled window classifier of this task instead of the detector")
    p.add_argument("--duration", type=float, default=None, metavar="S",
                   help="stop after S seconds of captured audio (default: until Ctrl-C)")
    p.add_argument("--window", type=float, default=None, metavar="S", help="window length (default: the model's)")
    p.add_argument("--hop", type=float, default=0.5, metavar="S", help="hop between windows (default 0.5 s)")
    p.add_argument("--capture-rate", type=int, default=None, metavar="HZ",
                   help="device sample rate (default: the device's own rate)")
    p.add_argument("--save", default=None, metavar="FILE", help="write the session audio (.flac/.wav) "
                                                                "and FILE-stem.live.json with the predictions")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads for the model (default 1: one window at a time is fastest "
                        "and steadiest with 1; more threads spin against the audio and each other)")
    p.add_argument("--json", action="store_true", help="JSON lines instead of text")
    p.set_defaults(func=cmd_live)


def _emit(obj: dict, as_json: bool, text: str) -> None:
    print(json.dumps(obj) if as_json else text, flush=True)


def cmd_live(args) -> int:
    from clinaudio_gui.live import LiveAudioError, LiveSession, list_input_devices
    from clinaudio_gui.live.session import RECORD_MODEL_WINDOW_S

    if args.list_devices:
        devices = list_input_devices(rescan=False)
        if args.json:
            for d in devices:
                print(json.dumps({"index": d.index, "name": d.name, "hostapi": d.hostapi,
                                  "channels": d.max_input_channels,
                                  "default_samplerate_hz": d.default_samplerate_hz, "default": d.is_default}))
        elif not devices:
            print("no audio input device found")
        else:
            for d in devices:
                print(f"{'*' if d.is_default else ' '} {d.index:3d}  {d.label}  "
                      f"{d.default_samplerate_hz:.0f} Hz")
        return 0
    if args.duration is not None and not args.duration > 0:
        raise ValueError(f"--duration {args.duration} must be > 0")
    if not args.hop > 0:
        raise ValueError(f"--hop {args.hop} must be > 0")
    if args.window is not None and not args.window > 0:
        raise ValueError(f"--window {args.window} must be > 0")

    # check the device before paying for the model
    from clinaudio_gui.live import find_input_device
    device = find_input_device(args.device)

    import torch

    from clinaudio_gui.engine.detector.stream import load_live_model
    if args.threads < 1:
        raise ValueError(f"--threads {args.threads} must be >= 1")
    torch.set_num_threads(int(args.threads))
    # warmed up inside: the first call pays for lazy set-up, not the stream
    clf = load_live_model(args.model or (f"task:{args.task}" if args.task else "detector"))
    window_s = args.window or clf.window_s or RECORD_MODEL_WINDOW_S
    session = LiveSession(clf, device=device, window_s=window_s, hop_s=args.hop,
                          capture_rate_hz=args.capture_rate)
    session.start()
    if not args.json:
        c = session.capture
        print(f"live: {c.device.name} at {c.capture_rate_hz} Hz -> model {getattr(clf, 'task', None) or clf.name} at "
              f"{clf.sample_rate_hz} Hz, window {window_s:g} s, hop {args.hop:g} s", file=sys.stderr)
    # --duration counts captured audio, not wall time: a sound server may take a second to start
    give_up = None if args.duration is None else time.monotonic() + float(args.duration) + 10.0
    seen = 0
    interrupted = False

    def drain():
        nonlocal seen
        for p in session.predictions_since(seen):
            seen += 1
            _emit(p.to_json(), args.json,
                  f"{p.end_s:8.2f} s  {p.label:<16s} {p.confidence:5.2f}  latency {p.latency_ms:6.1f} ms")
    try:
        while session.running and (args.duration is None or (session.duration_s < args.duration
                                                              and time.monotonic() < give_up)):
            time.sleep(0.02)
            drain()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        session.stop()
    drain()
    summary = session.summary()
    if getattr(clf, "streaming", False):
        summary["events"] = clf.events
    if args.save:
        audio_path, side = session.save_recording(args.save)
        summary["saved"] = str(audio_path)
        summary["saved_predictions"] = str(side)
    _emit(summary, args.json,
          f"verdict {summary['verdict']} ({summary['verdict_confidence']:.2f}); {summary['predictions']} "
          f"predictions; overruns {summary['overruns']}; latency p50 {summary['latency_p50_ms']} ms, "
          f"p95 {summary['latency_p95_ms']} ms")
    if session.error:
        raise LiveAudioError(session.error)
    return 130 if interrupted else 0
