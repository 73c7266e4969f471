"""scripts/detector_soup.py: per fold the weighted average of two runs' network weights (BatchNorm
statistics too), the retune-fitted heads copied from the second run, the package marked for a
retune; different splits are refused."""
import json
import subprocess
import sys
from pathlib import Path

import torch

from clinaudio_gui.engine.common.package import load_model_package, save_model_package
from clinaudio_gui.engine.detector.model import DetectorConfig, DetectorNet

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "detector_soup.py"


def _fold(root: Path, seed: int, test_patients: list[str], event_head: bool = False):
    torch.manual_seed(seed)
    net = DetectorNet(DetectorConfig(widths=(4, 4, 4), d_model=8, rnn_hidden=4,
                                     edge_head_inputs=6 if event_head else 0,
                                     edge_head_width=4 if event_head else 0)).eval()
    for m in net.modules():   # BatchNorm statistics that differ between the two runs
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    man = {"kind": "detector", "architecture": net.cfg.to_dict(), "metrics": {"event_f_micro": 0.3},
           "split": {"test_patients": test_patients, "inner_val_patients": ["v1"]}, "training": {"epochs": 3}}
    save_model_package(root / "fold0", dict(net.state_dict()), man)
    return net


def test_average_of_two_runs(tmp_path):
    a = _fold(tmp_path / "a", 1, ["p1", "p2"], event_head=True)
    b = _fold(tmp_path / "b", 2, ["p2", "p1"], event_head=True)
    p = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "a"), str(tmp_path / "b"),
                        "--out", str(tmp_path / "s"), "--weight", "0.25"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    t, m = load_model_package(tmp_path / "s" / "fold0", kind="detector")
    sa, sb = a.state_dict(), b.state_dict()
    for k in ("rnn.weight_hh_l0", "branches.0.cnn.0.0.weight", "branches.1.cnn.0.1.running_var", "frame_head.bias"):
        assert torch.allclose(t[k], 0.75 * sa[k] + 0.25 * sb[k], atol=1e-6), k
        assert not torch.allclose(t[k], sb[k])
    assert torch.equal(t["edge_head.net.0.weight"], sb["edge_head.net.0.weight"])   # refitted by the retune
    assert m["needs_retune"] and m["metrics"] == {} and m["training"]["soup"]["weight_b"] == 0.25
    assert json.loads((tmp_path / "s" / "soup.json").read_text())["weight_b"] == 0.25


def test_different_splits_are_refused(tmp_path):
    _fold(tmp_path / "a", 1, ["p1"])
    _fold(tmp_path / "b", 2, ["p3"])
    p = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "a"), str(tmp_path / "b"),
                        "--out", str(tmp_path / "s")], capture_output=True, text=True)
    assert p.returncode != 0 and "different splits" in p.stderr
    bad = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "a"), str(tmp_path / "b"),
                          "--out", str(tmp_path / "s"), "--weight", "1.5"], capture_output=True, text=True)
    assert bad.returncode != 0 and "--weight 1.5" in bad.stderr
