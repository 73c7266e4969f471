"""A tiny real k-fold training run (2 folds, 1 epoch, 24 recordings): packages that load, a
manifest with the split, calibration, decoder and figures; the CLI contract of detect-train."""
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(600)


def test_detect_train_tiny(sprsound_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for j in sorted(sprsound_dir.glob("*.json"))[::80][:24]:
        stem = j.name[:-5]
        os.symlink(j, data / j.name)
        os.symlink(sprsound_dir / (stem + ".flac"), data / (stem + ".flac"))
    out = tmp_path / "cv"
    p = subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", "detect-train", "--data", str(data), "--out",
                        str(out), "--folds", "2", "--epochs", "1", "--threads", "1", "--cache", str(tmp_path / "c"),
                        "--device", "cpu"], capture_output=True, text=True, timeout=580)
    assert p.returncode == 0, p.stderr[-3000:]
    cv = json.loads((out / "cv.json").read_text())
    assert set(cv["folds"]) == {"0", "1"}
    m = json.loads((out / "fold0" / "manifest.json").read_text())
    test_p, val_p = set(m["split"]["test_patients"]), set(m["split"]["inner_val_patients"])
    assert test_p and val_p and not test_p & val_p
    assert m["kind"] == "detector" and m["calibration"]["t_frame"] > 0 and "thresholds" in m["decoder"]
    assert "score_2_2" in m["metrics"] and "event_f_micro" in m["metrics"]
    # the event head is part of every trained package; validation decided whether it is used
    assert m["architecture"]["event_head_features"] > 0
    assert m["calibration"]["event_source"] in ("head", "frames")
    from clinaudio_gui.engine.detector.infer import Detector
    det = Detector(out / "fold0")
    r = det.detect_file(next(data.glob("*.flac")))
    assert r["record_label"] in det.record_classes
    # the proposal decoder was tried in every fold; where validation kept it, its scorer is in the package
    for k in (0, 1):
        mk = json.loads((out / f"fold{k}" / "manifest.json").read_text())
        assert "validation_event_f_thresholding" in mk["calibration"]["proposals"] or \
            mk["calibration"]["proposals"]["used"] is False
        if mk["decoder"]["mode"] == "proposals":
            assert mk["calibration"]["proposals"]["used"]
            assert mk["architecture"]["proposal_trees"] > 0 or mk["architecture"]["proposal_mlp_inputs"] > 0
            d = Detector(out / f"fold{k}")
            assert d.decoder.scorer is not None
            assert d.detect_file(next(data.glob("*.flac")))["record_label"] in d.record_classes
    # a second run finds the folds done and does not retrain
    p2 = subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", "detect-train", "--data", str(data), "--out",
                         str(out), "--folds", "2", "--epochs", "1", "--threads", "1", "--cache", str(tmp_path / "c")],
                        capture_output=True, text=True, timeout=300)
    assert p2.returncode == 0 and "already trained" in p2.stderr
    # retune with the proposal decoder: the weights stay, every package still loads and detects
    p3 = subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", "detect-train", "--data", str(data), "--out",
                         str(out), "--retune", "--keep-decoder", "--proposals", "--threads", "1",
                         "--cache", str(tmp_path / "c")], capture_output=True, text=True, timeout=300)
    assert p3.returncode == 0, p3.stderr[-3000:]
    assert "proposals:" in p3.stderr or "proposals (" in p3.stderr
    if "proposals (" in p3.stderr:
        assert "class target" in p3.stderr     # both training targets were tried
    before = (out / "fold0" / "manifest.json").read_bytes()
    p4 = subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", "detect-train", "--data", str(data), "--out",
                         str(out), "--retune", "--proposals", "--proposal-targets", "any,nearest"],
                        capture_output=True, text=True, timeout=120)
    assert p4.returncode == 2 and "--proposal-targets" in p4.stderr and "nearest" in p4.stderr
    assert (out / "fold0" / "manifest.json").read_bytes() == before
    p5 = subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", "detect-train", "--data", str(data), "--out",
                         str(out), "--retune", "--proposals", "--proposal-scorers", "trees,forest"],
                        capture_output=True, text=True, timeout=120)
    assert p5.returncode == 2 and "scorers" in p5.stderr and "forest" in p5.stderr
    assert (out / "fold0" / "manifest.json").read_bytes() == before
    # a narrowed search (one candidate set, one scorer, the smoothed threshold) on packages that
    # already hold a proposal decoder: only what was asked is tried, and the search is recorded
    p6 = subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", "detect-train", "--data", str(data), "--out",
                         str(out), "--retune", "--keep-decoder", "--proposals", "--proposal-variants", "thresholds",
                         "--proposal-targets", "any", "--proposal-scorers", "trees", "--proposal-threshold-rule",
                         "smoothed", "--threads", "1", "--cache", str(tmp_path / "c")],
                        capture_output=True, text=True, timeout=300)
    assert p6.returncode == 0, p6.stderr[-3000:]
    for k in (0, 1):
        pk = json.loads((out / f"fold{k}" / "manifest.json").read_text())["calibration"]["proposals"]
        assert pk["search"] == {"targets": ["any"], "variants": ["thresholds"], "scorers": ["trees"],
                                "threshold_rule": "smoothed"}
        tried = [v for v in pk["variants"].values() if "why" not in v]
        assert set(pk["variants"]) <= {"thresholds"} and all(set(v) - {"fitted_on_rows", "positive_fraction"}
                                                             == {"trees"} for v in tried)
    for k in (0, 1):
        assert Detector(out / f"fold{k}").detect_file(next(data.glob("*.flac")))["events"] is not None
