"""Which Score offsets (scoring.fit_offsets mode: per-class, shared, none) a task's decision
should use, chosen on INNER-VALIDATION patients only (docs/rules/session16_offsets_1_2.txt,
docs/rules/session16_offsets_records.txt): for every fold package of RUN, the package's
probabilities of the task's items (events for 1-1 / 1-2, recordings for 2-1 / 2-2) on the
inner-validation and test patients; the inner-validation patients cut in two random patient-wise
halves (--repeats times), offsets fitted on one half and scored on the other, both ways; the
criterion is the mean Score over halves, repetitions, folds and --tasks (one mode for all of them).
Test Scores (offsets fitted on the whole inner validation) are printed beside it, never used to
choose. Checks first that a refit in the package's own mode reproduces its offsets and test Score.

    .venv/bin/python scripts/detector_offset_variants.py models/cv/det_cv25 [--tasks 1-2] [--json OUT]
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import detector_runs as R  # noqa: E402
from clinaudio_gui.engine.detector import scoring as S  # noqa: E402
from clinaudio_gui.engine.detector.train import _load_net, fold_indices, package_task_probs  # noqa: E402


def task_set(net, m, recs, idx, hop_s, task):
    """(task class indices, merged task probabilities, patient of each item) of the recordings."""
    fine, probs, who = package_task_probs(net, m["calibration"], recs, idx, hop_s, task)
    return S.task_targets(fine, task), S.merge_to_task(probs, task), np.array(who)


def score(p, y, off, task) -> float:
    """The SPRSound Score of a task's merged probabilities ``p`` with offsets ``off``."""
    return S.all_metrics(y, S.predict_with_offsets(p, off), S.task_labels(task))["score"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--tasks", default="1-2", help="comma-separated tasks that share the mode (default 1-2)")
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    ap.add_argument("--cache", default="runs/cache")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    tasks = [t.strip() for t in a.tasks.split(",") if t.strip()]
    bad = [t for t in tasks if t not in S.TASKS]
    if bad or not tasks:
        raise SystemExit(f"--tasks {a.tasks!r}: each must be one of {', '.join(S.TASKS)}")
    import torch
    torch.set_num_threads(a.threads)
    folds = R.fold_dirs(a.run)
    recs, hop_s = R.recordings(a.data, a.cache)
    crit = {(t, mode): [] for t in tasks for mode in S.OFFSET_MODES}
    test = {(t, mode): [] for t in tasks for mode in S.OFFSET_MODES}
    rows = []
    for fdir in folds:
        net, m = _load_net(fdir)
        _, va_idx, te_idx = fold_indices(recs, m)
        for task in tasks:
            labels, key = S.task_labels(task), task.replace("-", "_")
            yv, pv, who = task_set(net, m, recs, va_idx, hop_s, task)
            yt, pt, _ = task_set(net, m, recs, te_idx, hop_s, task)
            own = m["calibration"].get("offset_modes", {}).get(task, "per-class")
            stored = np.asarray(m["calibration"]["offsets"][task])
            same_off = bool(np.allclose(S.fit_offsets(pv, yv, labels, mode=own).round(3), stored))
            pkg_test = m["metrics"].get(f"score_{key}")
            row = {"fold": fdir.name, "task": task, "val_items": len(yv), "test_items": len(yt),
                   "package_mode": own, "refit_equals_package_offsets": same_off, "package_test": pkg_test,
                   "package_offsets_test": round(score(pt, yt, stored, task), 4)}
            patients = np.unique(who)
            for mode in S.OFFSET_MODES:
                vals = []
                for rep in range(a.repeats):
                    perm = np.random.default_rng(rep).permutation(patients)
                    half = np.isin(who, perm[: len(perm) // 2])
                    for fit_on in (half, ~half):
                        off = S.fit_offsets(pv[fit_on], yv[fit_on], labels, mode=mode)
                        vals.append(score(pv[~fit_on], yv[~fit_on], off, task))
                off_all = S.fit_offsets(pv, yv, labels, mode=mode)
                row[mode] = {"cross_fitted_val": round(float(np.mean(vals)), 4),
                             "offsets": off_all.round(3).tolist(), "test": round(score(pt, yt, off_all, task), 4)}
                crit[task, mode].append(float(np.mean(vals)))
                test[task, mode].append(row[mode]["test"])
            rows.append(row)
            print(f"{fdir.name} {task}: {len(yv)} val / {len(yt)} test items; refit in its mode ({own}) = package "
                  f"offsets: {same_off}; package test {pkg_test} (its offsets here {row['package_offsets_test']}); "
                  + "; ".join(f"{mode}: val(x-fit) {row[mode]['cross_fitted_val']:.4f} test {row[mode]['test']:.4f}"
                              for mode in S.OFFSET_MODES), flush=True)
    summary = {mode: {"criterion": round(float(np.mean([np.mean(crit[t, mode]) for t in tasks])), 4),
                      **{t: {"criterion": round(float(np.mean(crit[t, mode])), 4),
                             "test_mean": round(float(np.mean(test[t, mode])), 4),
                             "test_std": round(float(np.std(test[t, mode])), 4)} for t in tasks}}
               for mode in S.OFFSET_MODES}
    best = max(S.OFFSET_MODES, key=lambda k: summary[k]["criterion"])
    if summary[best]["criterion"] - summary["per-class"]["criterion"] < 0.001:
        best = "per-class"
    print(f"\n| offsets ({', '.join(tasks)}) | inner-val criterion (cross-fitted) | "
          + " | ".join(f"test {t}, 5 folds" for t in tasks) + " |\n|---|---:|" + "---:|" * len(tasks))
    for mode in S.OFFSET_MODES:
        s = summary[mode]
        print(f"| {mode} | {s['criterion']:.4f} | "
              + " | ".join(f"{s[t]['test_mean']:.4f} +- {s[t]['test_std']:.4f}" for t in tasks) + " |")
    print(f"\nchosen by the rule (inner validation only): {best}")
    if a.json:
        Path(a.json).write_text(json.dumps({"tasks": tasks, "folds": rows, "summary": summary, "chosen": best},
                                           indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
