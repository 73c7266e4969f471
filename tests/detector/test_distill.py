"""engine/detector/distill.py and scripts/detector_distill.py: the teachers' targets are the mean of
their temperature-scaled probabilities, a crop's soft targets are its own frames, the loss is the
class-weighted KL that vanishes when the student agrees, train_network adds it, and the script writes
a package marked for the retune (and refuses what it cannot do)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.data import Recording
from clinaudio_gui.engine.detector.distill import distillation_loss, soft_targets, teacher_probs
from clinaudio_gui.engine.detector.model import DetectorConfig, DetectorNet
from clinaudio_gui.engine.detector.train import predict, train_network

CFG = dict(widths=(4, 4, 4), d_model=8, rnn_hidden=4)


def _recs(n=8, frames=(48, 80)):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        T = int(rng.integers(*frames))
        r = Recording(audio=f"r{i}.wav", patient=f"p{i % 4}", record_label="Normal", duration_s=T * 0.016,
                      events=[(0.1, 0.3, "Wheeze" if i % 3 else "Normal")])
        r.features = (3.0 + 2.0 * rng.standard_normal((2, 64, T))).astype(np.float16)
        r.target = np.where(np.arange(T) % 7 < 3, 2, 0).astype(np.int64)
        out.append(r)
    return out


def _net(seed):
    torch.manual_seed(seed)
    return DetectorNet(DetectorConfig(**CFG)).eval()


def test_teacher_targets_are_the_mean_of_the_temperature_scaled_probabilities():
    recs, a, b = _recs(4), _net(0), _net(1)
    idx = np.arange(4)
    probs = teacher_probs([(a, 0.5), (b, 2.0)], recs, idx)
    for (fa, _), (fb, _), i in zip(predict(a, recs, idx), predict(b, recs, idx), idx):
        want = 0.5 * (S.softmax(fa / 0.5) + S.softmax(fb / 2.0))
        assert probs[i].shape == (len(recs[i].target), 8)
        assert np.allclose(probs[i], want, atol=1e-6) and np.allclose(probs[i].sum(1), 1, atol=1e-5)
    assert not np.allclose(probs[0], teacher_probs([(a, 1.0)], recs, idx[:1])[0])   # the temperature matters
    recs[2].target = recs[2].target[:-3]
    with pytest.raises(ValueError, match="r2.wav"):
        teacher_probs([(a, 1.0)], recs, idx)
    with pytest.raises(ValueError, match="teacher"):
        teacher_probs([], recs, idx)


def test_a_crop_gets_its_own_frames_and_zeros_past_the_end():
    probs = {3: np.eye(8, dtype=np.float32)[np.arange(10) % 8], 5: np.full((4, 8), 0.125, np.float32)}
    q = soft_targets(probs, [3, 5], [6, 0], 6)
    assert q.shape == (2, 6, 8)
    assert q[0, :4].argmax(-1).tolist() == [6, 7, 0, 1] and float(q[0, 4:].abs().sum()) == 0
    assert torch.allclose(q[1, :4], torch.full((4, 8), 0.125)) and float(q[1, 4:].abs().sum()) == 0


def test_the_loss_vanishes_when_the_student_agrees_and_weighs_classes():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(8), size=12).astype(np.float32)
    probs = {0: p}
    target = torch.tensor([[0] * 6 + [2] * 6])
    mask = torch.ones(1, 12, dtype=torch.bool)
    w = torch.ones(8)
    fn = distillation_loss(probs, 1.0, w)
    agree = torch.log(torch.from_numpy(p))[None]
    assert float(fn(agree, [0], [0], mask, target)) == pytest.approx(0.0, abs=1e-6)
    other = torch.zeros(1, 12, 8)
    kl = (p * (np.log(p) - np.log(np.full(8, 1 / 8)))).sum(1)
    assert float(fn(other, [0], [0], mask, target)) == pytest.approx(kl.mean(), rel=1e-5)
    assert float(distillation_loss(probs, 0.5, w)(other, [0], [0], mask, target)) == pytest.approx(0.5 * kl.mean(), rel=1e-5)
    w2 = torch.ones(8)
    w2[2] = 3.0   # the class-2 frames count three times
    want = (kl[:6].sum() + 3 * kl[6:].sum()) / (6 + 18)
    assert float(distillation_loss(probs, 1.0, w2)(other, [0], [0], mask, target)) == pytest.approx(want, rel=1e-5)
    half = mask.clone()
    half[0, 6:] = False   # masked frames do not count
    assert float(fn(other, [0], [0], half, target)) == pytest.approx(kl[:6].mean(), rel=1e-5)


def test_train_network_adds_the_extra_loss_with_the_crops_offsets():
    recs, cfg = _recs(), DetectorConfig(**CFG)
    seen = []

    def extra(f, bidx, offs, m, yt):
        seen.append((list(bidx), list(offs), tuple(f.shape)))
        for i, a, row, mk in zip(bidx, offs, yt, m):   # the offsets point at each crop's own frames
            k = int(mk.sum())
            assert torch.equal(row[:k], torch.from_numpy(recs[int(i)].target[a:a + k]))
        return 10.0 * f.pow(2).mean()
    kw = dict(epochs=2, seed=1, crop=32, batch=4, lr=1e-2, eval_from=None, log=lambda *a: None)
    plain, h0 = train_network(recs, np.arange(8), np.arange(8), cfg, **kw)
    pulled, h1 = train_network(recs, np.arange(8), np.arange(8), cfg, extra_loss=extra, **kw)
    assert len(seen) == 4 and all(len(b) == len(o) == 4 and s[1:] == (32, 8) for b, o, s in seen)
    assert h1[0]["loss"] > h0[0]["loss"]
    x = torch.from_numpy(recs[0].features.astype(np.float32))[None]
    with torch.no_grad():   # the term was followed
        assert float(pulled(x)[0].pow(2).mean()) < float(plain(x)[0].pow(2).mean())


def _package(path, net, t_frame, pats):
    from clinaudio_gui.engine.common.package import save_model_package
    man = {"kind": "detector", "architecture": net.cfg.to_dict(), "metrics": {"event_f_micro": 0.3},
           "split": {"test_patients": pats[:1], "inner_val_patients": pats[1:2]},
           "training": {"epochs": 3, "crop_frames": 64, "retuned": True}}
    if t_frame is not None:
        man["calibration"] = {"t_frame": t_frame, "t_record": 1.0}
    save_model_package(path, dict(net.state_dict()), man)


def test_the_script_writes_a_student_marked_for_the_retune(tmp_path, sprsound_dir):
    from clinaudio_gui.engine.common.package import load_model_package
    from clinaudio_gui.engine.detector import data as D
    data = tmp_path / "data"
    data.mkdir()
    for j in sorted(sprsound_dir.glob("*.json"))[::100][:8]:
        (data / j.name).symlink_to(j)
        (data / (j.name[:-5] + ".flac")).symlink_to(sprsound_dir / (j.name[:-5] + ".flac"))
    pats = sorted({r.patient for r in D.scan_recordings(data)})
    init = _net(0)
    _package(tmp_path / "init" / "fold0", init, 0.9, pats)
    _package(tmp_path / "teach" / "fold0", _net(1), 1.3, pats)
    _package(tmp_path / "raw" / "fold0", _net(2), None, pats)
    script = Path(__file__).resolve().parents[2] / "scripts" / "detector_distill.py"

    def run(*args, start=("--init", str(tmp_path / "init"))):
        return subprocess.run([sys.executable, str(script), *start, "--data", str(data),
                               "--cache", str(tmp_path / "c"), "--epochs", "1", "--crop", "48", *args],
                              capture_output=True, text=True, timeout=300)
    p = run("--out", str(tmp_path / "kd"), "--teachers", str(tmp_path / "init"), str(tmp_path / "teach"))
    assert p.returncode == 0, p.stderr[-2000:]
    t, m = load_model_package(tmp_path / "kd" / "fold0", kind="detector")
    assert m["needs_retune"] and m["metrics"] == {} and "retuned" not in m["training"]
    d = m["training"]["distilled"]
    assert [x["t_frame"] for x in d["teachers"]] == [0.9, 1.3] and d["weight"] == 1.0 and d["kept"] == "last epoch"
    assert len(d["history"]) == 1 and m["split"]["test_patients"] == pats[:1]
    assert any(not torch.equal(v, init.state_dict()[k]) for k, v in t.items() if k.endswith("weight"))
    bad = run("--out", str(tmp_path / "kd2"), "--teachers", str(tmp_path / "raw"))
    assert bad.returncode != 0 and "not calibrated" in bad.stderr and "raw" in bad.stderr
    assert not (tmp_path / "kd2").exists()
    ctl = run("--out", str(tmp_path / "kd3"), "--weight", "0", "--teachers", str(tmp_path / "teach"))
    assert ctl.returncode != 0 and "control" in ctl.stderr
    none = run("--out", str(tmp_path / "kd4"))
    assert none.returncode != 0 and "--teachers" in none.stderr
    # --split-from: from scratch on that package's split, the network train_network trains there (up to
    # float rounding: the script runs on one thread)
    from clinaudio_gui.engine.detector.train import fold_indices
    scratch = run("--out", str(tmp_path / "kd5"), "--weight", "0", "--widths", "4", "4", "4", "--eval-from", "1",
                  start=("--split-from", str(tmp_path / "init")))
    assert scratch.returncode == 0, scratch.stderr[-2000:]
    t5, m5 = load_model_package(tmp_path / "kd5" / "fold0", kind="detector")
    d5 = m5["training"]["distilled"]
    assert d5["from"] is None and d5["split_from"].endswith("fold0") and d5["kept"].startswith("best on inner")
    assert "calibration" not in m5 and m5["architecture"]["widths"] == [4, 4, 4] and m5["split"] == {
        "test_patients": pats[:1], "inner_val_patients": pats[1:2]}
    recs = D.scan_recordings(data)
    D.load_features(recs, cache_dir=tmp_path / "c")
    tr, va, _ = fold_indices(recs, m5)
    want, _ = train_network(recs, tr, va, DetectorConfig(widths=(4, 4, 4)), epochs=1, seed=0, crop=48,
                            lr=1e-3, eval_from=1, log=lambda *a: None)
    assert set(t5) >= set(want.state_dict())
    diffs = {k: float((t5[k].float() - v.float()).abs().max()) for k, v in want.state_dict().items()}
    assert max(diffs.values()) < 1e-6, sorted(diffs.items(), key=lambda kv: -kv[1])[:5]
    # with a teacher from scratch: its term moves the network away from the control's (3 epochs, so
    # that Adam's first, sign-only steps are not all there is)
    longer = ("--widths", "4", "4", "4", "--epochs", "3", "--lr", "0.01")
    taught = run("--out", str(tmp_path / "kd7"), *longer, "--teachers", str(tmp_path / "teach"),
                 start=("--split-from", str(tmp_path / "init")))
    assert taught.returncode == 0, taught.stderr[-2000:]
    plain = run("--out", str(tmp_path / "kd8"), *longer, "--weight", "0",
                start=("--split-from", str(tmp_path / "init")))
    assert plain.returncode == 0, plain.stderr[-2000:]
    t7, m7 = load_model_package(tmp_path / "kd7" / "fold0", kind="detector")
    t8, _ = load_model_package(tmp_path / "kd8" / "fold0", kind="detector")
    assert [x["t_frame"] for x in m7["training"]["distilled"]["teachers"]] == [1.3]
    assert max(float((t7[k].float() - t8[k].float()).abs().max()) for k in want.state_dict()) > 1e-4
    both = run("--out", str(tmp_path / "kd6"), "--weight", "0", start=("--split-from", str(tmp_path / "init"),
                                                                         "--init", str(tmp_path / "init")))
    assert both.returncode != 0 and "not allowed with" in both.stderr
    wide = run("--out", str(tmp_path / "kd9"), "--weight", "0", "--widths", "4", "4", "4")
    assert wide.returncode != 0 and "--widths" in wide.stderr and not (tmp_path / "kd9").exists()
