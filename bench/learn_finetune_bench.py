"""How long one fine-tuning round of the model-in-the-loop takes on 50 newly labeled recordings
(issue #19 target: < 2 min on this CPU), against a named reference in the same run: the bundled
detector detecting the same 50 recordings (`Detector.detect_file`, one thread).

    .venv/bin/python bench/learn_finetune_bench.py [--data ../shared/data/sprsound/train] [--n 50]
        [--threads 1] [--adapt decoder|weights] [--epochs 4]

The project is a temporary folder with 50 SPRSound recordings (10 patients) and their JSON (the
labels the round trains on); the round is exactly what `clinaudio learn finetune` and the GUI's
worker process run: features (cold, nothing cached), scoring the model in use on the held-back
patients, fine-tuning, scoring the candidate, writing the version.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def pick(data: Path, n: int) -> list[Path]:
    by_patient: dict[str, list[Path]] = {}
    for js in sorted(data.glob("*.json")):
        by_patient.setdefault(js.name.split("_")[0], []).append(js.with_suffix(".flac"))
    out = []
    for p in sorted(by_patient, key=lambda p: -len(by_patient[p])):
        out += by_patient[p][:5]
        if len(out) >= n:
            break
    return out[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "sprsound" / "train"))
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--adapt", default="decoder", choices=("decoder", "weights"))
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    from clinaudio_gui.engine.detector.finetune import collect_folder_labels, finetune_round
    from clinaudio_gui.engine.detector.infer import load_detector
    from clinaudio_gui.engine.detector.versions import ModelVersions
    tmp = Path(tempfile.mkdtemp(prefix="learn_bench_"))
    try:
        for f in pick(Path(args.data), args.n):
            shutil.copy(f, tmp / f.name)
            shutil.copy(f.with_suffix(".json"), tmp / (f.stem + ".json"))
        det = load_detector()
        t0 = time.perf_counter()
        for f in sorted(tmp.glob("*.flac")):
            det.detect_file(f)
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        items = collect_folder_labels(tmp)
        res = finetune_round(ModelVersions.for_project(tmp), items, epochs=args.epochs, threads=args.threads,
                             mode=args.adapt)
        t_round = time.perf_counter() - t0
        out = {"recordings": len(items), "patients": len({i.patient for i in items}), "threads": args.threads,
               "adapt": args.adapt, "epochs": args.epochs if args.adapt == "weights" else 0, "n_train": res["n_train"], "n_holdout": res["n_holdout"],
               "round_s": round(t_round, 1), "reference_detect_50_s": round(t_ref, 1),
               "ratio_round_to_reference": round(t_round / t_ref, 2), "decision": res["decision"],
               "target_s": 120, "met": t_round < 120}
        print(json.dumps(out, indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
