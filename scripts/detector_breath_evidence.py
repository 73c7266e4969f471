"""Does the decoder find any breathing cycle? Per recording, the product's own path
(``Detector.detect_file``: quality gate, network, decoder, record head) on SPRSound patients of a
fold package (its inner-validation or its test patients, by the package's split), on ESC-10 clips
(not lung sounds) and ICBHI sample recordings (lung sounds from other stethoscopes): the record
label, the quality verdict and the decoded events (Normal cycles included). One JSON line per
recording, for the "no breathing cycle found" rule (docs/rules/session20_breath_evidence.txt).

    .venv/bin/python scripts/detector_breath_evidence.py models/cv/det_cv25/fold0 --set val --out runs/nogate/f0_val.jsonl
    .venv/bin/python scripts/detector_breath_evidence.py models/detector-sprsound --set esc10 --out runs/nogate/esc.jsonl
"""
import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clinaudio_gui.engine.detector.data import scan_recordings  # noqa: E402
from clinaudio_gui.engine.detector.infer import Detector  # noqa: E402

AUDIO = (".wav", ".ogg", ".flac")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("package")
    ap.add_argument("--set", choices=("val", "test", "esc10", "icbhi"), required=True)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    det = Detector(a.package)
    items = []   # (path, true record label or None, group)
    data = Path(a.data)
    if a.set in ("val", "test"):
        split = det.manifest["split"]
        pats = set(split["inner_val_patients" if a.set == "val" else "test_patients"])
        for r in scan_recordings(data / "sprsound" / "train"):
            if r.patient in pats:
                items.append((r.audio, r.record_label, r.patient))
    else:
        root = data / ("esc10" if a.set == "esc10" else "icbhi-sample")
        for p in sorted(root.rglob("*")):
            if p.suffix.lower() in AUDIO:
                items.append((str(p), None, p.parent.name if a.set == "esc10" else p.name.split("_")[0]))
    with open(a.out, "w") as f:
        for path, truth, group in items:
            res = det.detect_file(path)
            ev = [(round(e["start_s"], 3), round(e["end_s"], 3), e["label"], round(float(e["confidence"]), 3))
                  for e in res["events"]]
            f.write(json.dumps({"audio": path, "group": group, "truth": truth, "record_label": res["record_label"],
                                "record_probabilities": {k: round(float(v), 4) for k, v in res["record_probabilities"].items()},
                                "quality": res["quality"], "duration_s": round(res["duration_s"], 3),
                                "events": ev}) + "\n")
    print(f"{len(items)} recordings -> {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
