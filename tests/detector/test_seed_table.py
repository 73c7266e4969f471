"""scripts/detector_seed_table.py: two runs' per-fold figures, their per-fold mean, the CV of that
mean, and the mean absolute difference; runs with other or unsearched folds are refused by name."""
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "detector_seed_table.py"
KEYS = ["event_f_micro", "event_error_rate", "score_1_1", "score_1_2", "score_2_1", "score_2_2"]


def _run(root: Path, name: str, f: list[float], folds=range(5)) -> Path:
    for k in folds:
        d = root / name / f"fold{k}"
        d.mkdir(parents=True)
        metrics = {key: f[k] if key == "event_f_micro" else 0.5 for key in KEYS}
        (d / "manifest.json").write_text(json.dumps({"metrics": metrics}))
    return root / name


def _table(*runs):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, runs)], capture_output=True, text=True, timeout=60)


def test_two_seeds_side_by_side(tmp_path):
    a = _run(tmp_path, "a", [0.40, 0.30, 0.20, 0.30, 0.30])
    b = _run(tmp_path, "b", [0.30, 0.30, 0.40, 0.30, 0.30])
    p = _table(a, b)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert "| event F micro | 0 | 0.400 | 0.300 | 0.350 |" in lines
    assert "| event F micro | 2 | 0.200 | 0.400 | 0.300 |" in lines
    # a: mean 0.30 std 0.0632; b: 0.32 / 0.04; per-fold mean [0.35, 0.3, 0.3, 0.3, 0.3]: 0.31 / 0.02
    assert "| **event F micro** | CV | 0.300 +- 0.063 | 0.320 +- 0.040 | **0.310 +- 0.020** |" in lines
    assert "| event F micro | mean abs. difference (first two) | 0.060 | | |" in lines


def test_other_folds_are_refused(tmp_path):
    a = _run(tmp_path, "a", [0.3] * 5)
    b = _run(tmp_path, "b", [0.3] * 5, folds=range(4))
    p = _table(a, b)
    assert p.returncode != 0 and "b" in p.stderr and "not the same searched folds" in p.stderr
    c = _run(tmp_path, "c", [0.3] * 5)
    (c / "fold3" / "manifest.json").write_text(json.dumps({"metrics": {}}))   # trained, not searched
    assert _table(a, c).returncode != 0
