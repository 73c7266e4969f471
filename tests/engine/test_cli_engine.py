"""evaluate / classify through the real CLI with the bundled models, on real SPRSound files."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from clinaudio_gui.engine.classifier.inference import Classifier
from clinaudio_gui.engine.common.package import list_packages

import torch

torch.set_num_threads(1)  # this 2-core machine is shared: 1 thread is fastest under load

FILES = ["40069321_15.3_0_p1_981", "40138127_14.7_0_p1_137"]


def _cli(*args):
    r = subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", *map(str, args)], capture_output=True,
                       text=True, timeout=240)
    return r


@pytest.fixture(scope="module")
def small_set(sprsound_dir, tmp_path_factory):
    """A handful of real recordings: some with adventitious events, one Poor Quality."""
    d = tmp_path_factory.mktemp("spr")
    picked = []
    for js in sorted(sprsound_dir.glob("*.json")):
        rec = json.loads(js.read_text())["record_annotation"]
        if rec in ("CAS", "DAS", "Poor Quality", "Normal") and sum(1 for p in picked if p[1] == rec) < 2:
            picked.append((js, rec))
        if len(picked) >= 8:
            break
    for js, _ in picked:
        stem = js.name[:-5]
        shutil.copy(js, d / js.name)
        shutil.copy(sprsound_dir / (stem + ".flac"), d / (stem + ".flac"))
    return d


def test_bundled_models_exist_for_all_tasks():
    tasks = {m.get("task") for _, m in list_packages() if m.get("kind") == "classifier"}
    assert {"1-1", "1-2", "2-1", "2-2"} <= tasks


@pytest.mark.parametrize("task", ["1-1", "2-2"])
def test_evaluate_json(task, small_set):
    r = _cli("evaluate", "--task", task, "--data", small_set, "--json", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    for k in ("task", "se", "sp", "as", "hs", "score", "macro_f1", "labels", "confusion"):
        assert k in m
    assert m["task"] == task and 0 <= m["score"] <= 1
    n = np.asarray(m["confusion"]).sum()
    expected_n = 8 if task == "2-2" else sum(len(json.loads(p.read_text())["event_annotation"])
                                             for p in small_set.glob("*.json"))
    assert n == expected_n
    assert m["as"] == pytest.approx((m["se"] + m["sp"]) / 2)


def test_classify_json_event_model(sprsound_dir):
    """The older window classifier, asked for by its package (the detector is the default)."""
    from clinaudio_gui.engine.common.package import models_root
    audio = sprsound_dir / (FILES[1] + ".flac")
    r = _cli("classify", audio, "--model", models_root() / "classifier-1-2", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    dur = sf.info(str(audio)).duration
    assert out["events"] and out["events"][0]["start_s"] == 0.0
    assert out["events"][-1]["end_s"] == pytest.approx(dur, abs=1e-3)
    for a, b in zip(out["events"], out["events"][1:]):
        assert a["end_s"] == pytest.approx(b["start_s"]) and a["label"] != b["label"]
    assert abs(sum(out["probabilities"].values()) - 1) < 1e-4


def test_classify_default_is_the_detector_in_the_tasks_classes(sprsound_dir):
    audio = sprsound_dir / "40638274_9.7_1_p3_1765.flac"   # labelled CAS (FILES are Poor Quality ones)
    r21 = json.loads(_cli("classify", audio, "--task", "2-1", "--json").stdout)
    r22 = json.loads(_cli("classify", audio, "--task", "2-2", "--json").stdout)
    assert set(r21["probabilities"]) == {"Normal", "Adventitious", "Poor Quality"}
    assert set(r22["probabilities"]) == {"Normal", "CAS", "DAS", "CAS & DAS", "Poor Quality"}
    merged = r22["probabilities"]["CAS"] + r22["probabilities"]["DAS"] + r22["probabilities"]["CAS & DAS"]
    assert r21["probabilities"]["Adventitious"] == pytest.approx(merged, abs=2e-4)
    assert r21["record_label"] == ("Adventitious" if r22["record_label"] in ("CAS", "DAS", "CAS & DAS")
                                   else r22["record_label"])
    assert r22["quality"] == "ok" and r22["model"].startswith("detector-sprsound")
    r11 = json.loads(_cli("classify", audio, "--task", "1-1", "--json").stdout)
    assert {e["label"] for e in r11["events"]} <= {"Normal", "Adventitious"}


def test_classify_errors_are_clear(tmp_path):
    r = _cli("classify", tmp_path / "missing.wav", "--task", "2-2")
    assert r.returncode == 2 and "missing.wav" in r.stderr
    r = _cli("evaluate", "--model", tmp_path, "--data", tmp_path)
    assert r.returncode == 2 and "manifest" in r.stderr


def test_inference_on_10_s_recording(sprsound_dir):
    y, sr = sf.read(str(sprsound_dir / (FILES[0] + ".flac")), dtype="float32")
    y = np.resize(y, 10 * sr)
    for task in ("2-1", "1-1"):
        clf = Classifier.load(task=task, device="cpu")
        r = clf.classify_recording(y, sr)
        assert r["record_label"] in clf.labels
        emb = clf.embed(y[: 2 * sr], sr)
        assert emb.ndim == 1 and emb.dtype == np.float32 and np.isfinite(emb).all()
    # resampling: the same clip at 16 kHz gives nearly the same probabilities
    from clinaudio_gui.io import resample
    p8 = clf.predict(y[: 2 * sr], sr)[2]
    p16 = clf.predict(resample(y[: 2 * sr], orig_sr=sr, target_sr=16000), 16000)[2]
    assert max(abs(p8[k] - p16[k]) for k in p8) < 0.15
