"""The detector's k-fold table for docs/models.md, from the bundled package's manifest (or a run
folder's fold packages):

    .venv/bin/python scripts/detector_cv_table.py [models/detector-sprsound | runs/det_cv]
"""
import json
import sys
from pathlib import Path

import numpy as np

KEYS = [("event_f_micro", "event F micro"), ("event_f_macro", "event F macro"), ("event_error_rate", "event ER"),
        ("segment_f1_1s", "segment F1 (1 s)"), ("score_1_1", "1-1 Score"), ("score_1_2", "1-2 Score"),
        ("score_2_1", "2-1 Score (head)"), ("score_2_2", "2-2 Score (head)"),
        ("score_2_1_from_events", "2-1 Score (from events)"), ("score_2_2_from_events", "2-2 Score (from events)")]
CAL = [("record_ece_raw", "record ECE raw"), ("record_ece", "record ECE (T-scaled)"),
       ("frame_ece_raw", "frame ECE raw"), ("frame_ece", "frame ECE (T-scaled)"),
       ("event_1_2_ece", "event (1-2) ECE")]


def folds_of(path: Path) -> dict:
    if (path / "manifest.json").is_file():
        return json.loads((path / "manifest.json").read_text())["cross_validation"]["folds"]
    return {p.parent.name[4:]: json.loads(p.read_text())["metrics"] for p in sorted(path.glob("fold*/manifest.json"))}


def main(arg: str = "models/detector-sprsound") -> int:
    folds = folds_of(Path(arg))
    ks = sorted(folds, key=int)
    head = "| metric | " + " | ".join(f"fold {k}" for k in ks) + " | mean +- std |"
    print(head)
    print("|---|" + "---:|" * (len(ks) + 1))
    for key, name in KEYS:
        vals = [folds[k].get(key) for k in ks]
        ok = [v for v in vals if v is not None]
        ms = f"**{np.mean(ok):.3f} +- {np.std(ok):.3f}**" if ok else "-"
        print(f"| {name} | " + " | ".join("-" if v is None else f"{v:.3f}" for v in vals) + f" | {ms} |")
    for key, name in CAL:
        vals = [folds[k]["calibration"].get(key) for k in ks]
        ok = [v for v in vals if v is not None]
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in vals) + f" | {np.mean(ok):.3f} +- {np.std(ok):.3f} |")
    for cls in ("Crackle", "Wheeze", "Rhonchi", "Stridor"):
        vals = [folds[k]["per_class_event_f"].get(cls) for k in ks]
        ok = [v for v in vals if v is not None]
        ms = f"{np.mean(ok):.3f} +- {np.std(ok):.3f}" if ok else "-"
        print(f"| event F {cls} | " + " | ".join("-" if v is None else f"{v:.3f}" for v in vals) + f" | {ms} |")
    print(f"| recordings / reference events | " + " | ".join(
        f"{folds[k]['n_recordings']} / {folds[k]['n_reference_events']}" for k in ks) + " | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
