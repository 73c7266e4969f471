"""The live verdict with and without "no breathing cycle found"
(docs/rules/session20_live_breath_evidence.txt): the bundled detector's LiveDetector, driven as
LiveSession drives it (2 s windows every 0.5 s, no device), on each recording of a set; per window
the label and probabilities, and whether the stream had decoded an event in its context. The
session verdict is LiveSession's (mean of the probabilities of the windows that have them; none:
the last window's label); "with the rule" drops the windows with no event in context.

    .venv/bin/python scripts/live_breath_evidence.py --set test --out runs/nogate/live_test.json
    .venv/bin/python scripts/live_breath_evidence.py --set esc10 --out runs/nogate/live_esc.json
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clinaudio_gui.engine.detector.data import scan_recordings  # noqa: E402
from clinaudio_gui.engine.detector.infer import load_detector  # noqa: E402
from clinaudio_gui.engine.detector.stream import LiveDetector  # noqa: E402
from clinaudio_gui.io import read_audio  # noqa: E402

from detector_breath_evidence_table import ADV, task_scores  # noqa: E402
from clinaudio_gui.engine.common.data import RECORD_LABELS  # noqa: E402


def session(det, y, sr, hop_s=0.5):
    clf = LiveDetector(det)
    clf.no_cycle_rule = False
    win, hop = int(clf.window_s * sr), int(hop_s * sr)
    rows = []
    end = win
    while end <= len(y):
        label, conf, probs = clf.predict(y[end - win:end], sr, end_s=end / sr)
        seen = clf.stream.cycle_seen(clf.context_s) if probs is not None else None
        rows.append((label, None if probs is None else [float(v) for v in probs], seen))
        end += hop
    return clf.labels, rows


def verdict(labels, rows, rule: bool) -> str:
    probs = [p for _, p, seen in rows if p is not None and (seen or not rule)]
    if probs:
        return labels[int(np.argmax(np.mean(probs, axis=0)))]
    if not rows:
        return "too short"
    last = rows[-1]
    return "no breathing cycle found" if rule and last[1] is not None else last[0]


def to_record(v: str) -> str:
    return v if v in RECORD_LABELS else "Poor Quality"   # no signal / gate verdicts / no cycle: not classified


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=("test", "esc10"), required=True)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    det = load_detector()
    data = Path(a.data)
    if a.set == "test":
        pats = set(det.manifest["split"]["test_patients"])
        items = [(r.audio, r.record_label) for r in scan_recordings(data / "sprsound" / "train") if r.patient in pats]
    else:
        items = [(str(p), None) for p in sorted((data / "esc10").rglob("*.ogg"))]
    out = []
    for path, truth in items:
        y, sr = read_audio(path, target_sr=det.sr)
        labels, rows = session(det, np.asarray(y, np.float32), sr)
        out.append({"audio": path, "truth": truth, "before": verdict(labels, rows, False),
                    "after": verdict(labels, rows, True), "windows": len(rows),
                    "windows_no_cycle": sum(1 for _, p, s in rows if p is not None and not s)})
    Path(a.out).write_text(json.dumps(out, indent=0))
    changed = sum(o["before"] != o["after"] for o in out)
    print(f"{len(out)} recordings, verdict changed in {changed}")
    if a.set == "test":
        for key in ("before", "after"):
            s21, s22 = task_scores([o["truth"] for o in out], [to_record(o[key]) for o in out])
            print(f"{key}: 2-1 {s21:.4f}  2-2 {s22:.4f}")
        w = sum(o["windows"] for o in out)
        print(f"windows with probabilities but no event in context: {sum(o['windows_no_cycle'] for o in out)} of {w}")
    else:
        for key in ("before", "after"):
            print(f"{key}: adventitious verdicts {sum(o[key] in ADV for o in out)} of {len(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
