"""The committed cross-validation folds (models/cv) are real, loadable packages whose splits are
patient-wise and whose cv.json is the mean of their own test figures; a run kept only as the
networks of a later step (no cv.json, e.g. det_cv23) holds trained-only packages, never figures; a
run of some folds only (det_cv33: two folds) says so in its cv.json, whose n is the folds it holds."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from clinaudio_gui.engine.common.package import load_model_package

CV = Path(__file__).resolve().parents[2] / "models" / "cv"
RUNS = sorted(p for p in CV.glob("*") if p.is_dir())


@pytest.mark.parametrize("run", RUNS, ids=[p.name for p in RUNS])
def test_cv_run_folds_are_patient_wise_and_match_cv_json(run):
    folds = sorted(p for p in run.glob("fold*") if p.is_dir())
    trained_only = not (run / "cv.json").exists()
    n_cv = None if trained_only else json.loads((run / "cv.json").read_text())["mean_std"]["event_f_micro"]["n"]
    assert len(folds) == 5 or (n_cv is not None and 2 <= len(folds) == n_cv < 5)
    tests, figures = [], []
    for f in folds:
        tensors, m = load_model_package(f, kind="detector")      # verifies the weights' sha256
        assert tensors and bool(m.get("needs_retune")) == trained_only
        if trained_only:
            assert not m.get("metrics")
        test_p, val_p = set(m["split"]["test_patients"]), set(m["split"]["inner_val_patients"])
        assert test_p and val_p and not (test_p & val_p)
        tests.append(test_p)
        if not trained_only:
            figures.append(m["metrics"]["event_f_micro"])
    assert all(load_model_package(f, kind="detector")[1]["split"]["folds"] == 5 for f in folds)
    for i in range(len(folds)):
        for j in range(i + 1, len(folds)):
            assert not (tests[i] & tests[j]), "a patient in two folds' test sets"
    if trained_only:
        return
    cv = json.loads((run / "cv.json").read_text())["mean_std"]["event_f_micro"]
    assert cv["n"] == len(folds) and cv["mean"] == pytest.approx(np.mean(figures), abs=1e-4)
