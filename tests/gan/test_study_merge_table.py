"""scripts/study_merge_table.py: merging study JSONs of disjoint folds, refusing mismatches."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location("study_merge_table", ROOT / "scripts" / "study_merge_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _doc(folds, f1s, epochs=15):
    labels = ["Normal", "Rhonchi", "Wheeze", "Stridor", "Coarse Crackle", "Fine Crackle", "Wheeze+Crackle"]
    rec = {c: 0.5 for c in labels}
    strategies = {}
    for s, base in f1s.items():
        rows = [{"fold": f, "seed": f + 100 * r, "macro_f1": base + 0.01 * f + 0.001 * r, "score": 0.7,
                 "recall": rec} for f in folds for r in range(2)]
        strategies[s] = {"folds": rows}
    return {"task": "1-2", "folds": 5, "epochs": epochs, "seeds": 2, "synthetic_ratio": 0.5, "max_per_class": 800,
            "seed": 0, "gan_filter": None, "gan_truncation": None, "features": {"n_mels": 64},
            "labels": labels, "strategies": strategies}


def test_merge_pairs_runs_and_computes_paired_ci(tmp_path, capsys):
    m = _load()
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(json.dumps(_doc([1, 2, 3], {"none": 0.40, "gan": 0.42})))
    b.write_text(json.dumps(_doc([4, 5], {"none": 0.40, "gan": 0.42})))
    assert m.main([str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "10 paired runs: folds [1, 2, 3, 4, 5], 2 classifier seeds per fold" in out
    # gan is exactly 2 points above none in every run: the CI collapses on +2.0
    assert "| gan - none | +2.0 [+2.0, +2.0] | 10 of 10 |" in out


def test_merge_refuses_overlap_and_different_settings(tmp_path):
    m = _load()
    docs = [_doc([1, 2], {"none": 0.4}), _doc([2, 3], {"none": 0.4})]
    with pytest.raises(SystemExit, match="appears twice"):
        m.merge(docs)
    with pytest.raises(SystemExit, match="differ in 'epochs'"):
        m.merge([_doc([1], {"none": 0.4}), _doc([2], {"none": 0.4}, epochs=20)])
    late = _doc([2], {"none": 0.4})
    late["synthetic_schedule"] = "real-last"   # another schedule is another experiment
    with pytest.raises(SystemExit, match="differ in 'synthetic_schedule'"):
        m.merge([_doc([1], {"none": 0.4}), late])


def test_unreadable_file_is_one_line_error(tmp_path, capsys):
    m = _load()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert m.main([str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
