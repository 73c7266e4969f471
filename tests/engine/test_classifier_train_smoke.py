"""A tiny real training run (a few batches of real SPRSound events) gives a loadable package."""
import json

import numpy as np
import pytest

from clinaudio_gui.engine.classifier.inference import Classifier
from clinaudio_gui.engine.common.package import load_model_package, sha256_of
from clinaudio_gui.engine.classifier.train import train_classifier

import torch

torch.set_num_threads(1)  # this 2-core machine is shared: 1 thread is fastest under load


@pytest.mark.timeout(180)
def test_tiny_training_run_gives_loadable_package(sprsound_dir, tmp_path):
    seen = []
    out = train_classifier(task="1-2", data_dir=sprsound_dir, out_dir=tmp_path / "m", epochs=2, max_items=12,
                           max_batches=2, batch_size=8, cache_dir=tmp_path / "cache", threads=1,
                           progress=seen.append, log=lambda m: None, command="pytest smoke")
    tensors, man = load_model_package(out, kind="classifier")
    assert man["weights_sha256"] == sha256_of(out / "model.safetensors")
    assert man["task"] == "1-2" and man["labels"][0] == "Normal" and len(man["output_labels"]) == 7
    assert set(man["validation"]) >= {"se", "sp", "as", "hs", "score", "macro_f1", "confusion"}
    fw = man["fusion_weights"]
    assert abs(fw["gammatone"] + fw["cwt"] - 1) < 1e-5
    assert man["split"]["method"] == "patient-wise" and man["split"]["val_patients"]
    assert man["training"]["command"] == "pytest smoke"
    assert [r["epoch"] for r in seen] == [1, 2]
    log = [json.loads(l) for l in (out / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == 2 and all(np.isfinite(r["train_loss"]) for r in log)
    assert (out / "model.safetensors").stat().st_size < 20 * 2 ** 20
    # the package loads for its own task and, merged, for task 1-1
    clf = Classifier.load(out)
    lab, conf, probs = clf.predict(np.zeros(4000, np.float32) + 0.01, 8000)
    assert lab in clf.labels and abs(sum(probs.values()) - 1) < 1e-4
    clf11 = Classifier.load(out, task="1-1")
    assert clf11.labels == ["Normal", "Adventitious"]
    p11 = clf11.predict(np.zeros(4000, np.float32) + 0.01, 8000)[2]
    assert p11["Normal"] == pytest.approx(probs["Normal"], abs=1e-5)


def test_bad_task_and_device_are_named(sprsound_dir, tmp_path):
    with pytest.raises(ValueError, match="3-1"):
        train_classifier(task="3-1", data_dir=sprsound_dir, out_dir=tmp_path / "x", epochs=1)
    from clinaudio_gui.engine.common.device import resolve_device
    with pytest.raises(ValueError, match="tpu"):
        resolve_device("tpu")


@pytest.mark.slow
def test_torchrun_two_process_ddp(sprsound_dir, tmp_path):
    """DistributedDataParallel (gloo on CPU) through torchrun with 2 processes."""
    import subprocess
    import sys
    from pathlib import Path
    torchrun = Path(sys.executable).parent / "torchrun"
    r = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "clinaudio_gui.cli", "train",
                        "--task", "2-1", "--data", str(sprsound_dir), "--out", str(tmp_path / "m"), "--epochs", "1",
                        "--max-items", "8", "--max-batches", "1", "--batch-size", "4", "--cache",
                        str(tmp_path / "cache"), "--threads", "1", "--device", "cpu"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    man = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert man["training"]["world_size"] == 2


def test_merge_probs_fine_and_task_classes():
    from clinaudio_gui.engine.classifier.train import merge_probs
    p = np.array([[0.2, 0.1, 0.1, 0.3, 0.3]])
    out = merge_probs(p, ["Normal", "CAS", "DAS", "CAS & DAS", "Poor Quality"], "2-1")
    assert np.allclose(out, [[0.2, 0.5, 0.3]])
    out = merge_probs(np.array([[0.2, 0.5, 0.3]]), ["Normal", "Adventitious", "Poor Quality"], "2-1")
    assert np.allclose(out, [[0.2, 0.5, 0.3]])


def test_augment_recipe_adds_minority_copies(sprsound_dir, tmp_path):
    """--augment uses the augment layer's recipe to add copies of the rare classes."""
    msgs = []
    out = train_classifier(task="2-2", data_dir=sprsound_dir, out_dir=tmp_path / "m", epochs=1, max_items=40,
                           max_batches=1, batch_size=4, cache_dir=tmp_path / "cache", threads=1,
                           augment="naa", log=msgs.append)
    assert any("augmented minority-class items" in m for m in msgs)
    man = json.loads((out / "manifest.json").read_text())
    assert man["training"]["augment"] == "naa" and man["training"]["n_train_items"] > 40
    with pytest.raises(ValueError, match="audio recipe"):
        train_classifier(task="2-2", data_dir=sprsound_dir, out_dir=tmp_path / "x", epochs=1, max_items=8,
                         max_batches=1, cache_dir=tmp_path / "cache", augment="taa", log=msgs.append)
