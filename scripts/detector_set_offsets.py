"""Refit one task's Score offsets of detector packages with another ``scoring.fit_offsets`` mode,
as the calibration now does (``scoring.TASK_OFFSET_MODES``), without retraining: for every
package, the offsets fitted on its own inner-validation patients (their expert events and the
event head's probabilities for 1-1 / 1-2, their recordings and the record head's for 2-1 / 2-2;
unchanged), then its validation and test figures of that task recomputed.
Only the manifest changes (calibration offsets, the task's figures, an ``offsets_refit`` record);
the weights and their sha256 stay. A run folder's cv.json is recomputed; with --cv RUN a bundled
package's ``cross_validation`` is replaced by RUN's (after RUN is refitted).

    .venv/bin/python scripts/detector_set_offsets.py models/cv/det_cv25            # every fold
    .venv/bin/python scripts/detector_set_offsets.py models/detector-sprsound --cv models/cv/det_cv25
"""
import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clinaudio_gui.core.atomic import atomic_write_text  # noqa: E402
from clinaudio_gui.engine.detector import data as D  # noqa: E402
from clinaudio_gui.engine.detector import scoring as S  # noqa: E402
from clinaudio_gui.engine.detector.summary import aggregate  # noqa: E402
from clinaudio_gui.engine.detector.train import _load_net, fold_indices, package_task_probs  # noqa: E402

RULES = {"1-2": "docs/rules/session16_offsets_1_2.txt", "2-1": "docs/rules/session16_offsets_records.txt",
         "2-2": "docs/rules/session16_offsets_records.txt"}


def refit(fdir: Path, recs, hop_s: float, task: str, mode: str, cross_validation: dict | None = None) -> dict:
    """Refit ``fdir``'s ``task`` offsets in ``mode`` and rewrite its manifest (with
    ``cross_validation``, that field replaced too); returns the new manifest."""
    net, m = _load_net(fdir)
    if m.get("needs_retune"):
        raise SystemExit(f"{fdir}: trained-only package (no calibration to refit)")
    _, va_idx, te_idx = fold_indices(recs, m)
    if len(va_idx) == 0 or len(te_idx) == 0:
        raise SystemExit(f"{fdir}: its inner-validation or test patients are not in the data")
    cal = m["calibration"]
    labels = S.task_labels(task)
    y_va, p_va, _ = package_task_probs(net, cal, recs, va_idx, hop_s, task)
    y_te, p_te, _ = package_task_probs(net, cal, recs, te_idx, hop_s, task)
    y = S.task_targets(y_va, task)
    before = list(cal["offsets"][task])
    after = S.fit_offsets(S.merge_to_task(p_va, task), y, labels, mode=mode).round(3)
    key = task.replace("-", "_")
    old_test = m["metrics"].get(f"score_{key}")
    new_te = S.task_metrics(y_te, p_te, task, after)
    new_va = S.task_metrics(y_va, p_va, task, after)
    check = S.task_metrics(y_te, p_te, task, np.asarray(before))["score"]
    if old_test is not None and abs(check - old_test) > 5e-4:
        raise SystemExit(f"{fdir}: the package's own offsets give test {task} {check:.4f}, its manifest says "
                         f"{old_test}: the data or code differ from the package's; nothing changed")
    cal["offsets"][task] = after.tolist()
    cal.setdefault("offset_modes", {})[task] = mode
    for part, res in (("metrics", new_te), ("validation_metrics", new_va)):
        if part in m:
            m[part][f"score_{key}"] = round(res["score"], 4)
            m[part][f"macro_f1_{key}"] = round(res["macro_f1"], 4)
    if "metrics_full" in m:
        m["metrics_full"]["tasks"][task] = new_te
    m.setdefault("offsets_refit", []).append({
        "task": task, "mode": mode, "rule": RULES.get(task), "offsets_before": before, "test_score_before": old_test,
        "utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python scripts/detector_set_offsets.py " + " ".join(sys.argv[1:])})
    if cross_validation is not None:
        m["cross_validation"] = cross_validation
    atomic_write_text(fdir / "manifest.json", json.dumps(m, indent=2, ensure_ascii=False) + "\n")
    print(f"{fdir}: {task} offsets {before} -> {after.tolist()} ({mode}); test {task} Score {old_test} -> "
          f"{new_te['score']:.4f}; validation {new_va['score']:.4f}", flush=True)
    return m


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", help="fold packages, run folders (fold*/), or a bundled package")
    ap.add_argument("--task", default="1-2", choices=("1-1", "1-2", "2-1", "2-2"))
    ap.add_argument("--mode", default=None, choices=S.OFFSET_MODES,
                    help="default: the calibration's mode for the task (scoring.TASK_OFFSET_MODES)")
    ap.add_argument("--cv", default=None, metavar="RUN", help="replace the package's cross_validation by RUN's cv.json")
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    ap.add_argument("--cache", default="runs/cache")
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    mode = a.mode or S.offset_mode(a.task)
    recs = D.scan_recordings(a.data)
    D.load_features(recs, cache_dir=a.cache)
    hop_s = D.detector_settings().hop_s
    for p in map(Path, a.paths):
        folds = sorted(f.parent for f in p.glob("fold*/manifest.json"))
        if folds:
            res = {int(f.name[4:]): refit(f, recs, hop_s, a.task, mode)["metrics"] for f in folds}
            cv = {"folds": res, "mean_std": aggregate(res)}
            atomic_write_text(p / "cv.json", json.dumps(cv, indent=2) + "\n")
            s = cv["mean_std"][f"score_{a.task.replace('-', '_')}"]
            print(f"{p}: {len(folds)} folds, {a.task} Score {s['mean']:.4f} +- {s['std']:.4f}")
        elif (p / "manifest.json").is_file():
            cv = json.loads((Path(a.cv) / "cv.json").read_text()) if a.cv else None
            refit(p, recs, hop_s, a.task, mode, cv)
        else:
            raise SystemExit(f"{p}: neither a detector package nor a folder of fold packages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
