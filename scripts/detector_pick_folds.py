"""Per fold, keep the better of two trained detector runs by their INNER-VALIDATION figures only
(the epoch criterion: mean of event F micro and the 2-2 Score, with each run's own tuned decoder),
copy the kept fold packages to OUT and write OUT/cv.json (test figures of the kept folds) and
OUT/picks.json (what was compared and why). Test patients are never looked at for the choice.

    .venv/bin/python scripts/detector_pick_folds.py runs/det_cv3 runs/det_cv4 --out runs/det_cv5
"""
import argparse
import json
import shutil
from pathlib import Path

from clinaudio_gui.engine.detector.train import aggregate


def criterion(m: dict) -> float:
    v = m["validation_metrics"]
    return 0.5 * ((v.get("event_f_micro") or 0.0) + v["score_2_2"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    picks, results = {}, {}
    for fo in sorted(Path(args.old).glob("fold*/manifest.json")):
        k = fo.parent.name
        fn = Path(args.new) / k / "manifest.json"
        mo = json.loads(fo.read_text())
        cands = {args.old: (criterion(mo), mo)}
        if fn.is_file():
            mn = json.loads(fn.read_text())
            assert sorted(mn["split"]["test_patients"]) == sorted(mo["split"]["test_patients"])
            cands[args.new] = (criterion(mn), mn)
        src = max(cands, key=lambda s: (cands[s][0], s == args.old))   # ties keep the old run
        picks[k] = {"kept": src, "validation_criterion": {s: round(c, 4) for s, (c, _) in cands.items()}}
        if (out / k).exists():
            shutil.rmtree(out / k)
        shutil.copytree(Path(src) / k, out / k)
        results[int(k[4:])] = cands[src][1]["metrics"]
        print(k, picks[k])
    (out / "cv.json").write_text(json.dumps({"folds": results, "mean_std": aggregate(results)}, indent=2) + "\n")
    (out / "picks.json").write_text(json.dumps(picks, indent=2) + "\n")


if __name__ == "__main__":
    main()
