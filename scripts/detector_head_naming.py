"""Naming the decoded events with the event head (docs/rules/session24_head_naming.txt).

Per fold package of a cross-validation run (``CV_DIR/foldK``), on its inner-validation
(``--set val``) or held-out (``--set test``) patients, the product's own path
(``Detector.detect_file``) decodes every recording; each decoded event keeps its edges and is
named twice (each event's mean
class probabilities over its frames are stored too, for scripts/detector_naming_offset.py): as the product names it ("frame": mean frame class probabilities, the proposal
decoder's naming) and by the argmax of ``Detector.event_probabilities`` ("head": the event head,
as task 1-2 decides). Event F by sed_eval with the protocol of ``clinaudio evaluate --task
events`` per fold and the mean; one JSON line per recording in ``OUT/foldK_SET.jsonl`` (reused
when present, so a second call only scores).

    .venv/bin/python scripts/detector_head_naming.py models/cv/det_cv25 --set val --out runs/naming
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clinaudio_gui.engine.detector.data import scan_recordings  # noqa: E402
from clinaudio_gui.engine.detector.infer import Detector  # noqa: E402
from clinaudio_gui.metrics.events import event_metrics  # noqa: E402


def run_fold(pkg: Path, which: str, data: Path, out: Path) -> None:
    import torch
    torch.set_num_threads(1)
    det = Detector(pkg)
    pats = set(det.manifest["split"]["inner_val_patients" if which == "val" else "test_patients"])
    recs = [r for r in scan_recordings(data) if r.patient in pats]
    classes = list(det.event_classes)
    tmp = out.with_suffix(".part")
    with open(tmp, "w") as f:
        for r in recs:
            res = det.detect_file(r.audio, with_frames=True, with_sequence=True)
            evs = res["events"]
            head, means = [], []
            if evs:
                fp, hop = res["frame_probabilities"], det.hop_s
                means = [[round(float(v), 6) for v in
                          fp[int(round(e["start_s"] / hop)):max(int(round(e["end_s"] / hop)),
                                                                 int(round(e["start_s"] / hop)) + 1), 1:].mean(axis=0)]
                         for e in evs]
                p = det.event_probabilities(res, [(e["start_s"], e["end_s"]) for e in evs])
                head = [classes[int(np.argmax(row))] for row in p]
            f.write(json.dumps({
                "audio": r.audio, "duration_s": r.duration_s,
                "reference": [[float(s), float(e), lab] for s, e, lab in r.events],
                "frame": [[e["start_s"], e["end_s"], e["label"]] for e in evs],
                "head": [[e["start_s"], e["end_s"], h] for e, h in zip(evs, head)],
                "means": means, "classes": classes,
            }) + "\n")
    tmp.rename(out)


def score(path: Path) -> dict:
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    ref = {r["audio"]: [tuple(e) for e in r["reference"]] for r in rows}
    dur = {r["audio"]: r["duration_s"] for r in rows}
    res = {}
    for arm in ("frame", "head"):
        est = {r["audio"]: [tuple(e) for e in r[arm]] for r in rows}
        m = event_metrics(ref, est, durations_s=dur)["event_based"]
        res[arm] = {"f": m["micro"]["f"], "er": m["micro"]["error_rate"], "macro_f": m["macro"]["f"]}
    res["recordings"] = len(rows)
    res["renamed"] = sum(a[2] != b[2] for r in rows for a, b in zip(r["frame"], r["head"]))
    res["events"] = sum(len(r["frame"]) for r in rows)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cv_dir")
    ap.add_argument("--set", choices=("val", "test"), required=True)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "sprsound" / "train"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--folds", default="0,1,2,3,4")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    table = {}
    for k in (int(x) for x in a.folds.split(",")):
        path = out / f"fold{k}_{a.set}.jsonl"
        if not path.is_file():
            run_fold(Path(a.cv_dir) / f"fold{k}", a.set, Path(a.data), path)
        table[k] = score(path)
        t = table[k]
        print(f"fold {k}: {t['recordings']} recordings, {t['events']} events, {t['renamed']} renamed; "
              f"event F frame {t['frame']['f']:.4f} head {t['head']['f']:.4f} "
              f"(ER {t['frame']['er']:.3f} / {t['head']['er']:.3f}; macro {t['frame']['macro_f']:.3f} / "
              f"{t['head']['macro_f']:.3f})", flush=True)
    fr = np.array([table[k]["frame"]["f"] for k in table])
    hd = np.array([table[k]["head"]["f"] for k in table])
    print(f"mean +- std: frame {fr.mean():.4f} +- {fr.std():.4f}, head {hd.mean():.4f} +- {hd.std():.4f}; "
          f"head - frame {hd.mean() - fr.mean():+.4f}, lower in {int((hd < fr).sum())} of {len(fr)} folds")
    (out / f"summary_{a.set}.json").write_text(json.dumps({str(k): v for k, v in table.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
