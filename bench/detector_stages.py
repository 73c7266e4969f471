"""Where a 10 s detection's time goes, stage by stage, on one CPU thread (medians of 21), and
whether the compiled kernels (engine/detector/kernels.py) change any result: the bundled detector
with and without them (CLINAUDIO_NO_JIT=1) on the first N SPRSound recordings, events, record
labels and probabilities compared.

    .venv/bin/python bench/detector_stages.py [--n 40]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
import detector_bench  # noqa: E402  (its timer)
DATA, EXAMPLE = detector_bench.DATA, detector_bench.EXAMPLE


def timeit(fn, n=21) -> float:
    """Median milliseconds of ``n`` calls after one warm-up (detector_bench's timer)."""
    return detector_bench.timeit(fn, n) * 1000


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40, help="recordings compared with and without the kernels")
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from clinaudio_gui.dsp.quality import assess_quality
    from clinaudio_gui.engine.common.frontend import compute_features
    from clinaudio_gui.engine.detector.decode import decode
    from clinaudio_gui.engine.detector.edges import edge_probs
    from clinaudio_gui.engine.detector.infer import Detector
    from clinaudio_gui.io import read_audio

    det = Detector()
    net = det.net
    y, sr = read_audio(EXAMPLE)
    y10 = np.tile(y, 2)[: 10 * sr]
    x = torch.from_numpy(compute_features(y10, det.settings))[None]
    r = det.detect(y10, sr, with_frames=True)
    fp, eb = r["frame_probabilities"], r.get("edge_probabilities")
    rows = [("whole detection", timeit(lambda: det.detect(y10, sr))),
            ("quality gate", timeit(lambda: assess_quality(y10, det.sr))),
            ("features (gammatone + CWT)", timeit(lambda: compute_features(y10, det.settings)))]
    with torch.inference_mode():
        rows.append(("network", timeit(lambda: net(x, return_seq=True))))
        rows.append(("  branches", timeit(lambda: [br(x[:, i:i + 1]) for i, br in enumerate(net.branches)])))
        h = sum(br(x[:, i:i + 1]) for i, br in enumerate(net.branches)) / len(net.branches)
        rows.append(("  GRU" + (" (compiled)" if net.fast_rnn is not None else ""),
                     timeit(lambda: (net.fast_rnn or net.rnn)(h))))
        hh, _ = net.rnn(h)
        rows.append(("  attention", timeit(lambda: net.att(hh, hh, hh, need_weights=False))))
        seq = net(x, return_seq=True)[4][0].numpy()
    if eb is not None:
        rows.append(("edge head", timeit(lambda: edge_probs(net, seq, fp))))
    rows.append(("decoder", timeit(lambda: decode(fp, det.event_classes, det.hop_s, det.decoder, edges=eb))))
    print("| stage, 10 s recording, 1 thread | ms |\n|---|---:|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} |")

    files = sorted(DATA.glob("*.flac"))[: a.n]
    fast = [det.detect_file(f) for f in files]
    os.environ["CLINAUDIO_NO_JIT"] = "1"
    plain_det = Detector()
    plain = [plain_det.detect_file(f) for f in files]
    del os.environ["CLINAUDIO_NO_JIT"]
    same_events = sum(p["events"] == q["events"] for p, q in zip(fast, plain))
    same_label = sum(p["record_label"] == q["record_label"] for p, q in zip(fast, plain))
    dp = max((abs(p["record_probabilities"][k] - q["record_probabilities"][k])
              for p, q in zip(fast, plain) for k in p["record_probabilities"]), default=0.0)
    print(f"\nwith vs without the compiled kernels, {len(files)} recordings: identical events in {same_events}, "
          f"identical record labels in {same_label}, largest record-probability difference {dp:.4f}")
    return 0 if same_events == same_label == len(files) else 1


if __name__ == "__main__":
    raise SystemExit(main())
