"""What the signal-quality gate (clinaudio_gui/dsp/quality.py) does on the shared data: every
SPRSound training recording (whole, and its worst 2 s and 8 s windows: the live panel's short
window and context), every ICBHI sample file in the detector's 16.4 s blocks, and every ESC-10
clip (non-lung sounds: what the gate should stop), per status and per ESC-10 class.

    .venv/bin/python scripts/quality_gate_table.py [--band-hz 2000] [--data ../shared/data]

``--band-hz`` sets the upper edge of the breath band (the gate's default since session 18 is
1000 Hz; 2000 Hz was the gate before), so the two can be compared in one run.
"""
import argparse
import collections
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clinaudio_gui.dsp.quality import OK, QualitySettings, assess_quality  # noqa: E402
from clinaudio_gui.io.audio import read_audio  # noqa: E402

SR = 8000
BLOCK = int(16.384 * SR)   # the detector's block (1024 frames of 16 ms)


def windows(y: np.ndarray, n: int, hop: int):
    """Windows of n samples every hop, the last one reaching the end (as the detector's blocks)."""
    s = 0
    while True:
        yield y[s:s + n]
        if s + n >= len(y):
            return
        s += hop


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--band-hz", type=float, default=None, help="upper edge of the breath band (default: the gate's)")
    a = ap.parse_args(argv)
    s = QualitySettings() if a.band_hz is None else replace(QualitySettings(), breath_band_hz=a.band_hz)
    data = Path(a.data)
    print(f"gate settings: {s}")

    from clinaudio_gui.engine.detector.data import scan_recordings
    recs = scan_recordings(data / "sprsound" / "train")
    whole, worst2, worst8 = collections.Counter(), collections.Counter(), collections.Counter()
    low_ratio = []
    for r in recs:
        y, _ = read_audio(r.audio, target_sr=SR)
        pq = "Poor Quality" if r.record_label == "Poor Quality" else "other"
        q = assess_quality(y, SR, s)
        whole[(pq, q.status)] += 1
        w2 = [assess_quality(w, SR, s) for w in windows(y, 2 * SR, SR)]
        w8 = [assess_quality(w, SR, s) for w in windows(y, 8 * SR, 2 * SR)]
        worst2[(pq, "all windows ok" if all(x.ok for x in w2) else "a window gated")] += 1
        worst8[(pq, "all windows ok" if all(x.ok for x in w8) else "a window gated")] += 1
        if pq == "other":
            low_ratio.append((min(x.breath_band_ratio for x in w2), Path(r.audio).name))
    print(f"\nSPRSound train, {len(recs)} recordings (record label Poor Quality or other):")
    for name, c in (("whole recording", whole), ("2 s windows (1 s hop)", worst2), ("8 s windows (2 s hop)", worst8)):
        print(f"  {name}: " + "; ".join(f"{k[0]} / {k[1]}: {v}" for k, v in sorted(c.items())))
    low_ratio.sort()
    print("  lowest breath-band ratio in a 2 s window, records not labelled Poor Quality: "
          + ", ".join(f"{v:.3f} ({n})" for v, n in low_ratio[:3]))

    ic = collections.Counter()
    ratios = []
    for f in sorted((data / "icbhi-sample").glob("*.wav")):
        y, _ = read_audio(f, target_sr=SR)
        for w in windows(y, BLOCK, BLOCK // 2):
            q = assess_quality(w, SR, s)
            ic[q.status] += 1
            ratios.append(q.breath_band_ratio)
    print(f"\nICBHI sample, detector blocks: {dict(ic)}; breath-band ratio min {min(ratios):.3f}")

    esc = collections.defaultdict(collections.Counter)
    for f in sorted((data / "esc10").glob("*/*.ogg")):
        y, _ = read_audio(f, target_sr=SR)
        esc[f.parent.name.split(" - ", 1)[-1]][assess_quality(y, SR, s).status] += 1
    n_all = sum(sum(c.values()) for c in esc.values())
    n_gated = sum(n for c in esc.values() for k, n in c.items() if k != OK)
    print(f"\nESC-10, {n_all} clips (none is a lung sound): {n_gated} gated")
    print("| class | gated | no signal | clipping | heavy noise | no breath sounds | ok |\n|---|---:|---:|---:|---:|---:|---:|")
    for cls, c in sorted(esc.items()):
        n = sum(c.values())
        print(f"| {cls} | {n - c[OK]} / {n} | {c['no signal']} | {c['clipping']} | {c['heavy noise']} | "
              f"{c['no breath sounds']} | {c[OK]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
