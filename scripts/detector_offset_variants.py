"""Which task 1-2 offsets (scoring.fit_offsets mode: per-class, shared, none) to use, chosen on
INNER-VALIDATION patients only (docs/rules/session16_offsets_1_2.txt): for every fold package of
RUN, the event head's 1-2 probabilities of the inner-validation and test events; the inner-
validation patients cut in two random patient-wise halves (--repeats times), offsets fitted on one
half and scored on the other, both ways; the criterion is the mean 1-2 Score over halves,
repetitions and folds. Test Scores (offsets fitted on the whole inner validation) are printed
beside it, never used to choose. Checks first that the per-class refit reproduces each package's
own offsets and test 1-2 Score.

    .venv/bin/python scripts/detector_offset_variants.py models/cv/det_cv25 [--json OUT]
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clinaudio_gui.engine.detector import data as D  # noqa: E402
from clinaudio_gui.engine.detector import scoring as S  # noqa: E402
from clinaudio_gui.engine.detector.event_fit import package_event_probs  # noqa: E402
from clinaudio_gui.engine.detector.train import _load_net, fold_indices  # noqa: E402

TASK = "1-2"


def event_set(net, m, recs, idx, hop_s):
    """(1-2 class indices, merged 1-2 probabilities, patient of each event) of the recordings."""
    fine, probs, who = package_event_probs(net, m["calibration"], recs, idx, hop_s)
    labels, merge = S.task_labels(TASK), S.TASKS[TASK]["merge"]
    y = [labels.index(next(k for k, v in merge.items() if t in v)) for t in fine]
    return np.array(y), S.merge_to_task(probs, TASK), np.array(who)


def score(p, y, off) -> float:
    """The SPRSound 1-2 Score of merged probabilities ``p`` with offsets ``off``."""
    return S.all_metrics(y, S.predict_with_offsets(p, off), S.task_labels(TASK))["score"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    ap.add_argument("--cache", default="runs/cache")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(a.threads)
    folds = sorted(p.parent for p in Path(a.run).glob("fold*/manifest.json"))
    if not folds:
        raise SystemExit(f"{a.run}: no fold packages")
    recs = D.scan_recordings(a.data)
    D.load_features(recs, cache_dir=a.cache)
    hop_s = D.detector_settings().hop_s
    labels = S.task_labels(TASK)
    crit = {mode: [] for mode in S.OFFSET_MODES}
    test = {mode: [] for mode in S.OFFSET_MODES}
    rows = []
    for fdir in folds:
        net, m = _load_net(fdir)
        _, va_idx, te_idx = fold_indices(recs, m)
        yv, pv, who = event_set(net, m, recs, va_idx, hop_s)
        yt, pt, _ = event_set(net, m, recs, te_idx, hop_s)
        stored = np.asarray(m["calibration"]["offsets"][TASK])
        refit = S.fit_offsets(pv, yv, labels).round(3)
        same_off = bool(np.allclose(refit, stored))
        pkg_test = m["metrics"].get("score_1_2")
        row = {"fold": fdir.name, "val_events": len(yv), "test_events": len(yt),
               "refit_equals_package_offsets": same_off,
               "package_test_1_2": pkg_test}
        patients = np.unique(who)
        for mode in S.OFFSET_MODES:
            vals = []
            for rep in range(a.repeats):
                perm = np.random.default_rng(rep).permutation(patients)
                half = np.isin(who, perm[: len(perm) // 2])
                for fit_on in (half, ~half):
                    off = S.fit_offsets(pv[fit_on], yv[fit_on], labels, mode=mode)
                    vals.append(score(pv[~fit_on], yv[~fit_on], off))
            off_all = S.fit_offsets(pv, yv, labels, mode=mode)
            row[mode] = {"cross_fitted_val": round(float(np.mean(vals)), 4),
                         "offsets": off_all.round(3).tolist(), "test": round(score(pt, yt, off_all), 4)}
            crit[mode].append(float(np.mean(vals)))
            test[mode].append(row[mode]["test"])
        rows.append(row)
        print(f"{fdir.name}: {len(yv)} val / {len(yt)} test events; per-class refit = package offsets: {same_off}; "
              f"package test 1-2 {pkg_test}; " + "; ".join(
                  f"{mode}: val(x-fit) {row[mode]['cross_fitted_val']:.4f} test {row[mode]['test']:.4f}"
                  for mode in S.OFFSET_MODES), flush=True)
    summary = {mode: {"criterion": round(float(np.mean(crit[mode])), 4),
                      "test_mean": round(float(np.mean(test[mode])), 4),
                      "test_std": round(float(np.std(test[mode])), 4)} for mode in S.OFFSET_MODES}
    best = max(S.OFFSET_MODES, key=lambda k: summary[k]["criterion"])
    if summary[best]["criterion"] - summary["per-class"]["criterion"] < 0.001:
        best = "per-class"
    print("\n| 1-2 offsets | inner-val criterion (cross-fitted) | test 1-2, 5 folds |\n|---|---:|---:|")
    for mode in S.OFFSET_MODES:
        s = summary[mode]
        print(f"| {mode} | {s['criterion']:.4f} | {s['test_mean']:.4f} +- {s['test_std']:.4f} |")
    print(f"\nchosen by the rule (inner validation only): {best}")
    if a.json:
        Path(a.json).write_text(json.dumps({"folds": rows, "summary": summary, "chosen": best}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
