"""Two detector packages on the same 10 s recording, one CPU thread, in one run, interleaved
(machine noise hits both): median ms per detection and their ratio, per round.

    .venv/bin/python bench/detector_compare.py models/detector-sprsound OTHER_PACKAGE [--rounds 3]

An earlier bundle: git archive REV models/detector-sprsound | tar -x -C /tmp/old
(then /tmp/old/models/detector-sprsound).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from detector_bench import EXAMPLE, timeit  # noqa: E402  (the same audio and the same median timing)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from clinaudio_gui.engine.detector.infer import Detector
    from clinaudio_gui.io import read_audio
    da, db = Detector(args.a), Detector(args.b)
    y, sr = read_audio(EXAMPLE)
    y10 = np.tile(y, 2)[: 10 * sr]
    print("| round | " + args.a + " (ms) | " + args.b + " (ms) | ratio |\n|---|---:|---:|---:|")
    for r in range(args.rounds):
        ta = timeit(lambda: da.detect(y10, sr))
        tb = timeit(lambda: db.detect(y10, sr))
        print(f"| {r} | {ta * 1000:.1f} | {tb * 1000:.1f} | {ta / tb:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
