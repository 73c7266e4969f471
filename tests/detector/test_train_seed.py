"""detect-train --train-seed: another network on the same folds. The split (test and inner-validation
patients) follows --seed only; the network's initialisation and batches follow --train-seed, and the
default (no --train-seed) is the network of --train-seed equal to --seed."""
import json
import os
import subprocess
import sys

import pytest

from clinaudio_gui.engine.common.package import load_model_package

pytestmark = pytest.mark.timeout(600)


def test_train_seed_changes_network_not_split(sprsound_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for j in sorted(sprsound_dir.glob("*.json"))[::80][:24]:
        os.symlink(j, data / j.name)
        os.symlink(sprsound_dir / (j.name[:-5] + ".flac"), data / (j.name[:-5] + ".flac"))

    def train(out, *extra):
        cli = [sys.executable, "-m", "clinaudio_gui.cli", "detect-train", "--data", str(data), "--out", str(out),
               "--threads", "1", "--cache", str(tmp_path / "c"), "--folds", "2", "--only-folds", "0",
               "--epochs", "1", "--train-only", "--inner-split", "stratified", "--crop-frames", "128", *extra]
        p = subprocess.run(cli, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        return load_model_package(out / "fold0", kind="detector")

    (t0, m0), (t1, m1), (t0b, m0b) = (train(tmp_path / "s0"), train(tmp_path / "s1", "--train-seed", "1"),
                                      train(tmp_path / "s0b", "--train-seed", "0"))
    assert m0["split"] == m1["split"] == m0b["split"]                   # same folds, same inner split
    assert m1["training"]["train_seed"] == 1 and m0["training"]["train_seed"] == 0
    key = next(k for k in t0 if k.endswith("weight") and t0[k].ndim > 1)
    assert not (t0[key] == t1[key]).all()                               # another network
    assert all((t0[k] == t0b[k]).all() for k in t0)                     # the default is --train-seed = --seed
    assert json.dumps(m0["training"]["history"][0]["loss"]) == json.dumps(m0b["training"]["history"][0]["loss"])
