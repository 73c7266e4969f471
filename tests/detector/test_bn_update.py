"""train.update_batchnorm (SWA's BatchNorm re-estimation) and scripts/detector_bn_update.py: the
running statistics become the equal-weight average of the batches' statistics, the weights do not
change, a seed reproduces, and the package is marked for a retune."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from clinaudio_gui.engine.detector.data import Recording
from clinaudio_gui.engine.detector.model import DetectorConfig, DetectorNet
from clinaudio_gui.engine.detector.train import update_batchnorm


def _recs(n=10, frames=(40, 90)):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        T = int(rng.integers(*frames))
        r = Recording(audio=f"r{i}.wav", patient=f"p{i % 5}", record_label="Normal", duration_s=T * 0.016,
                      events=[(0.1, 0.3, "Wheeze" if i % 3 else "Normal")])
        r.features = (3.0 + 2.0 * rng.standard_normal((2, 64, T))).astype(np.float16)
        r.target = np.zeros(T, np.int64)
        out.append(r)
    return out


def _net():
    torch.manual_seed(0)
    return DetectorNet(DetectorConfig(widths=(4, 4, 4), d_model=8, rnn_hidden=4)).eval()


def test_statistics_are_the_average_over_the_batches():
    recs, net = _recs(), _net()
    bn = next(m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    bn.running_mean.fill_(50.0)   # stale statistics: must not survive
    weights = {k: v.clone() for k, v in net.state_dict().items() if "running" not in k and "num_batches" not in k}
    seen = []
    hook = bn.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach().mean(dim=(0, 2, 3))))
    n = update_batchnorm(net, recs, np.arange(len(recs)), crop=32, seed=3, batch=4)
    hook.remove()
    assert n == 3 and len(seen) == 3 * 1   # one branch of the two holds this layer
    assert torch.allclose(bn.running_mean, torch.stack(seen).mean(0), atol=1e-5)
    assert bn.momentum == 0.1 and not net.training
    for k, v in net.state_dict().items():
        if k in weights:
            assert torch.equal(v, weights[k]), k
    again = _net()
    update_batchnorm(again, recs, np.arange(len(recs)), crop=32, seed=3, batch=4)
    b2 = next(m for m in again.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert torch.equal(b2.running_var, bn.running_var)
    other = _net()
    update_batchnorm(other, recs, np.arange(len(recs)), crop=32, seed=4, batch=4)
    b3 = next(m for m in other.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert not torch.equal(b3.running_var, bn.running_var)


def test_the_script_marks_the_package_for_a_retune(tmp_path, sprsound_dir):
    from clinaudio_gui.engine.common.package import load_model_package, save_model_package
    data = tmp_path / "data"
    data.mkdir()
    jsons = sorted(sprsound_dir.glob("*.json"))[::100][:8]
    for j in jsons:
        (data / j.name).symlink_to(j)
        (data / (j.name[:-5] + ".flac")).symlink_to(sprsound_dir / (j.name[:-5] + ".flac"))
    from clinaudio_gui.engine.detector import data as D
    pats = sorted({r.patient for r in D.scan_recordings(data)})
    cfg = DetectorConfig(widths=(4, 4, 4), d_model=8, rnn_hidden=4)
    net = DetectorNet(cfg).eval()
    man = {"kind": "detector", "architecture": cfg.to_dict(), "metrics": {"event_f_micro": 0.3},
           "split": {"test_patients": pats[:1], "inner_val_patients": pats[1:2]},
           "training": {"epochs": 3, "crop_frames": 64, "retuned": True}}
    save_model_package(tmp_path / "run" / "fold0", dict(net.state_dict()), man)
    script = Path(__file__).resolve().parents[2] / "scripts" / "detector_bn_update.py"
    p = subprocess.run([sys.executable, str(script), str(tmp_path / "run"), "--out", str(tmp_path / "bn"),
                        "--data", str(data), "--cache", str(tmp_path / "c")], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    t, m = load_model_package(tmp_path / "bn" / "fold0", kind="detector")
    assert m["needs_retune"] and m["metrics"] == {} and "retuned" not in m["training"]
    assert m["training"]["bn_update"]["crop_frames"] == 64 and m["training"]["bn_update"]["batches"] >= 1
    before = net.state_dict()
    changed = [k for k in t if "running_mean" in k and not torch.equal(t[k], before[k])]
    assert changed
    assert all(torch.equal(t[k], before[k]) for k in t if k.endswith("weight"))
    bad = subprocess.run([sys.executable, str(script), str(tmp_path / "run"), "--out", str(tmp_path / "bn2"),
                          "--data", str(data), "--folds", "3"], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "no fold packages" in bad.stderr


def test_swa_training_returns_the_average_of_the_epoch_ends():
    """train_network(swa=True): one cosine cycle per epoch (each epoch ends near lr / 100), the
    parameters returned are the mean of the epoch ends' parameters, and the BatchNorm statistics are
    re-estimated for those averaged weights (not the last epoch's running statistics)."""
    from clinaudio_gui.engine.detector.train import train_network
    recs = _recs(n=8, frames=(48, 80))
    cfg = DetectorConfig(widths=(4, 4, 4), d_model=8, rnn_hidden=4)
    snaps, lines = [], []
    net, hist = train_network(recs, np.arange(8), np.arange(8), cfg, epochs=3, seed=1, crop=32, batch=4,
                              lr=1e-2, swa=True, snapshots=snaps, log=lines.append)
    assert len(snaps) == 3 and [h["averaged"] for h in hist] == [1, 2, 3]
    assert all(abs(h["last_step_lr"] - 1e-4) < 1e-9 for h in hist) and "val_criterion" not in hist[-1]
    assert hist[-1]["bn_reestimated"] and any("averaged over 3 epoch ends" in x for x in lines)
    params = dict(net.named_parameters())
    for k, v in params.items():
        mean = torch.stack([s[k] for s in snaps]).mean(0)
        assert torch.allclose(v, mean, atol=1e-6), k
    assert not torch.allclose(params[k], snaps[-1][k])   # the average is not the last epoch
    bn = next(m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    stale = bn.running_mean.clone()
    update_batchnorm(net, recs, np.arange(8), crop=32, seed=1, batch=4)   # the same draw: nothing changes
    assert torch.allclose(bn.running_mean, stale, atol=1e-6)


def test_swa_refuses_a_time_budget(tmp_path):
    p = subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", "detect-train", "--data", str(tmp_path),
                        "--out", str(tmp_path / "o"), "--swa", "--time-budget-min", "5"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "--swa" in p.stderr and not (tmp_path / "o").exists()
