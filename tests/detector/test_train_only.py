"""The lent-GPU path of detect-train: --train-only packages (network + split, no search) that
--retune --event-head --proposals completes; --time-budget-min (one-cycle over wall-clock time);
--workers (features computed in processes, same values as in one)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from clinaudio_gui.engine.detector import data as D
from clinaudio_gui.engine.detector.schedule import TimedOneCycle

pytestmark = pytest.mark.timeout(600)


def test_timed_one_cycle_shape(monkeypatch):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    now = [100.0]
    monkeypatch.setattr("clinaudio_gui.engine.detector.schedule.time.time", lambda: now[0])
    s = TimedOneCycle(opt, 3e-3, t_start=100.0, budget_s=50.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(3e-3 / 25)       # starts low
    lrs = []
    for t in np.linspace(0, 50, 101):
        now[0] = 100.0 + t
        s.step()
        lrs.append(opt.param_groups[0]["lr"])
    peak = int(np.argmax(lrs))
    assert peak == 20 and lrs[peak] == pytest.approx(3e-3)                # the peak at 20 % of the time
    assert all(a <= b + 1e-12 for a, b in zip(lrs[:peak], lrs[1:peak + 1]))  # up, then down
    assert all(a >= b - 1e-12 for a, b in zip(lrs[peak:], lrs[peak + 1:]))
    assert lrs[-1] == pytest.approx(3e-3 / 25 / 1e4) and s.spent()
    now[0] = 149.0
    assert not s.spent()


def test_features_in_processes_equal(sprsound_dir, tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    for j in sorted(sprsound_dir.glob("*.json"))[:3]:
        os.symlink(j, data / j.name)
        os.symlink(sprsound_dir / (j.name[:-5] + ".flac"), data / (j.name[:-5] + ".flac"))
    a, b = D.scan_recordings(data), D.scan_recordings(data)
    D.load_features(a, cache_dir=None)
    D.load_features(b, cache_dir=tmp_path / "c", workers=2)
    for x, y in zip(a, b):
        assert np.array_equal(x.features, y.features) and np.array_equal(x.target, y.target)
    c = D.scan_recordings(data)
    D.load_features(c, cache_dir=tmp_path / "c")   # the cache the processes wrote
    assert all(np.array_equal(x.features, z.features) for x, z in zip(a, c))


def test_train_only_then_retune(sprsound_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for j in sorted(sprsound_dir.glob("*.json"))[::80][:24]:
        os.symlink(j, data / j.name)
        os.symlink(sprsound_dir / (j.name[:-5] + ".flac"), data / (j.name[:-5] + ".flac"))
    out = tmp_path / "cv"
    cli = [sys.executable, "-m", "clinaudio_gui.cli", "detect-train", "--data", str(data), "--out", str(out),
           "--threads", "1", "--cache", str(tmp_path / "c")]
    p = subprocess.run(cli + ["--folds", "2", "--only-folds", "0", "--epochs", "500", "--time-budget-min", "0.15",
                              "--train-only", "--workers", "2", "--inner-split", "stratified", "--edge-loss", "0.5"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    m = json.loads((out / "fold0" / "manifest.json").read_text())
    assert m["needs_retune"] and "calibration" not in m and m["split"]["test_patients"]
    assert m["split"]["inner_split"] == "stratified" and m["split"]["inner_val_patients"]
    assert m["training"]["edge_loss_weight"] == 0.5 and all("edge_loss" in r for r in m["training"]["history"])
    bad = subprocess.run(cli + ["--edge-loss", "-1", "--train-only"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--edge-loss -1" in bad.stderr
    h = m["training"]["history"]
    assert m["training"]["time_budget_s"] == pytest.approx(9.0) and m["training"]["epochs"] == len(h) < 500
    assert any(r.get("best") for r in h)                                  # an epoch was kept by validation
    assert not (out / "fold1").exists()
    # not usable as a model until the search ran
    b = subprocess.run(cli + ["--retune", "--only-folds", "99", "--bundle", str(tmp_path / "b")],
                       capture_output=True, text=True, timeout=300)
    assert b.returncode != 0 and "--train-only" in b.stderr and not (tmp_path / "b").exists()
    r = subprocess.run(cli + ["--retune", "--event-head", "--proposals"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    m2 = json.loads((out / "fold0" / "manifest.json").read_text())
    assert "needs_retune" not in m2 and m2["calibration"]["t_frame"] > 0 and "score_2_2" in m2["metrics"]
    assert m2["architecture"]["event_head_features"] > 0 and m2["training"]["history"] == h
    from clinaudio_gui.engine.detector.infer import Detector
    # task 1-2 without offsets (scoring.TASK_OFFSET_MODES); scripts/detector_set_offsets.py refits them
    # per class and back, the weights untouched, and "none" gives back the retune's own 1-2 figure
    assert m2["calibration"]["offsets"]["1-2"] == [0.0] * 7 and m2["calibration"]["offset_modes"]["1-2"] == "none"
    script = [sys.executable, str(Path(__file__).resolve().parents[2] / "scripts" / "detector_set_offsets.py"),
              str(out), "--data", str(data), "--cache", str(tmp_path / "c")]
    s = subprocess.run(script + ["--mode", "per-class"], capture_output=True, text=True, timeout=300)
    assert s.returncode == 0, s.stderr[-3000:]
    m3 = json.loads((out / "fold0" / "manifest.json").read_text())
    assert m3["weights_sha256"] == m2["weights_sha256"] and m3["calibration"]["offset_modes"]["1-2"] == "per-class"
    assert m3["offsets_refit"][0]["test_score_before"] == m2["metrics"]["score_1_2"]
    assert m3["metrics_full"]["tasks"]["1-2"]["score"] == pytest.approx(m3["metrics"]["score_1_2"], abs=1e-4)
    cv = json.loads((out / "cv.json").read_text())
    assert cv["mean_std"]["score_1_2"]["mean"] == m3["metrics"]["score_1_2"]
    s = subprocess.run(script, capture_output=True, text=True, timeout=300)
    assert s.returncode == 0, s.stderr[-3000:]
    m4 = json.loads((out / "fold0" / "manifest.json").read_text())
    assert m4["calibration"]["offsets"]["1-2"] == [0.0] * 7 and m4["metrics"]["score_1_2"] == m2["metrics"]["score_1_2"]
    # a record task: its own refit reproduces the retune's 2-2 figure (the script stops otherwise), then none
    for mode in ("per-class", "none"):
        s = subprocess.run(script + ["--task", "2-2", "--mode", mode], capture_output=True, text=True, timeout=300)
        assert s.returncode == 0, s.stderr[-3000:]
    m5 = json.loads((out / "fold0" / "manifest.json").read_text())
    assert m5["calibration"]["offsets"]["2-2"] == [0.0] * 5 and m5["offsets_refit"][-1]["task"] == "2-2"
    assert m5["offsets_refit"][-2]["test_score_before"] == m2["metrics"]["score_2_2"]
    assert Detector(out / "fold0").detect_file(next(data.glob("*.flac")))["record_label"]


def test_aggregate_skips_folds_without_figures():
    from clinaudio_gui.engine.detector.train import aggregate
    out = aggregate({0: {}, 1: {"event_f_micro": 0.2, "score_1_2": None}, 2: {"event_f_micro": 0.4, "score_1_2": 0.8}})
    assert out["event_f_micro"] == {"mean": 0.3, "std": 0.1, "n": 2}
    assert out["score_1_2"] == {"mean": 0.8, "std": 0.0, "n": 1}


@pytest.mark.parametrize("flag", [["--time-budget-min", "0"], ["--time-budget-min", "-1"], ["--workers", "0"]])
def test_bad_budget_or_workers(tmp_path, flag):
    p = subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", "detect-train", "--data", str(tmp_path),
                        "--out", str(tmp_path / "o")] + flag, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and flag[0] in p.stderr and not (tmp_path / "o").exists()
