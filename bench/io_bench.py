"""io speed, each against a named reference measured in the same run.

1. Dataset scan (what `clinaudio stats` does) on SPRSound train, 1,949 recordings:
   ours = scan_labeled (JSON parse + validation) + soundfile.info per file;
   reference = the plain approach: json.load + decoding each FLAC (soundfile.read) for its length.
2. Range read: 1 s at 300 s from a 10-min 44.1 kHz FLAC: read_audio(start_s, end_s) vs
   soundfile.read of the whole file then slicing.
3. Annotation parsing: read_annotations on all 1,949 SPRSound JSON vs bare json.load (the
   cost of validation and the model).
Run: .venv/bin/python bench/io_bench.py   (prints a markdown table)
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from clinaudio_gui.io import audio_info, read_annotations, read_audio, write_audio  # noqa: E402
from clinaudio_gui.io.dataset import scan_labeled  # noqa: E402

SPR = REPO.parent / "shared" / "data" / "sprsound" / "train"


def best_of(fn, repeat=3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def scan_ours():
    items = scan_labeled(SPR)
    return sum(audio_info(it.audio_path)["duration_s"] for it in items)


def scan_plain():
    total = 0.0
    for p in sorted(SPR.glob("*.flac")):
        json.loads(p.with_suffix(".json").read_text())
        y, sr = sf.read(str(p), dtype="float32")
        total += len(y) / sr
    return total


def main() -> None:
    rows = []
    assert abs(scan_ours() - scan_plain()) < 1e-6       # same answer before timing
    t_ours, t_ref = best_of(scan_ours, 2), best_of(scan_plain, 1)
    rows.append(("dataset scan, SPRSound train (1,949 files)", "json.load + soundfile.read (decode all)",
                 t_ours, t_ref))
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "long.flac"
        sr = 44100
        rng = np.random.default_rng(0)
        write_audio(p, (0.1 * rng.standard_normal(sr * 600)).astype(np.float32), sr)
        ours = lambda: read_audio(p, start_s=300.0, end_s=301.0)
        ref = lambda: sf.read(str(p), dtype="float32")[0][300 * sr:301 * sr]
        assert np.array_equal(ours()[0], ref())
        rows.append(("1 s at 300 s of a 10-min 44.1 kHz FLAC", "soundfile.read whole file + slice",
                     best_of(ours, 5), best_of(ref, 2)))
    files = sorted(SPR.glob("*.json"))
    rows.append(("parse 1,949 SPRSound JSON into AnnotationSets", "bare json.load",
                 best_of(lambda: [read_annotations(f) for f in files]),
                 best_of(lambda: [json.loads(f.read_text()) for f in files])))
    print("| task | reference | ours | reference time | ours / reference |")
    print("|---|---|---|---|---|")
    for task, ref_name, t_o, t_r in rows:
        print(f"| {task} | {ref_name} | {t_o * 1000:.1f} ms | {t_r * 1000:.1f} ms | {t_o / t_r:.3f} |")


if __name__ == "__main__":
    main()
