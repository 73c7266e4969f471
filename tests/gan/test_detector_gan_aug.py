"""GAN items for the detector (engine/detector/gan_aug.py, `detect-train --augment gan`): synthetic
recordings with strong labels, the leak check, the sampling share, and the CLI chain a user runs
(a fold package, a generator that leaves its patients out, a fold trained with its items)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from clinaudio_gui.core.errors import ClinAudioError
from clinaudio_gui.engine.detector import data as D
from clinaudio_gui.engine.detector.gan_aug import (check_generator_patients, fold_patients_to_exclude, mix_event,
                                                   record_label_of, synthetic_recordings)

pytestmark = pytest.mark.timeout(600)


def test_leak_check_refuses_overlap_and_unknown(tmp_path):
    check_generator_patients({"training_patients": ["a", "b"]}, {"c"}, model_dir=tmp_path, what="fold 0")
    with pytest.raises(ClinAudioError) as e:
        check_generator_patients({"training_patients": ["a", "b"]}, {"b", "c"}, model_dir=tmp_path, what="fold 0")
    assert str(tmp_path) in str(e.value) and "1 of the 2 patients of fold 0" in str(e.value)
    with pytest.raises(ClinAudioError, match="does not list its training patients"):
        check_generator_patients({}, {"c"}, model_dir=tmp_path, what="fold 0")


def test_fold_patients_to_exclude(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"split": {"fold": 2, "test_patients": ["p1", "p2"], "inner_val_patients": ["p3"]}}))
    pats, src = fold_patients_to_exclude(tmp_path)
    assert pats == {"p1", "p2", "p3"} and "fold 2" in src
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ClinAudioError, match="no detector split"):
        fold_patients_to_exclude(tmp_path)
    with pytest.raises(ClinAudioError, match="not a detector fold package"):
        fold_patients_to_exclude(tmp_path / "missing")


def test_record_label_follows_events():
    ev = [(0, 1, "Normal"), (1, 2, "Wheeze")]
    assert record_label_of(ev, "Normal") == "CAS"
    assert record_label_of(ev + [(2, 3, "Fine Crackle")], "Normal") == "CAS & DAS"
    assert record_label_of([(0, 1, "Coarse Crackle")], "Normal") == "DAS"
    assert record_label_of([(0, 1, "Wheeze+Crackle")], "CAS") == "CAS & DAS"
    assert record_label_of([(0, 1, "Normal")], "Normal") == "Normal"
    assert record_label_of(ev, "Poor Quality") == "Poor Quality"


def test_mix_event_only_inside_and_at_its_level():
    rng = np.random.default_rng(0)
    y = (0.01 * rng.standard_normal(8000 * 4)).astype(np.float32)
    ev = rng.standard_normal(3000).astype(np.float32)
    for gain in (-6.0, 0.0, 6.0):
        out = mix_event(y, 1.0, 2.5, ev, 8000, gain)
        a, b = 8000, 20000
        assert np.array_equal(out[:a], y[:a]) and np.array_equal(out[b:], y[b:])
        added = out[a:b] - y[a:b]
        ratio = np.sqrt(np.mean(added.astype(np.float64) ** 2)) / np.sqrt(np.mean(y[a:b].astype(np.float64) ** 2))
        assert ratio == pytest.approx(10 ** (gain / 20), rel=1e-3)


def test_sampling_share_of_synthetic():
    from clinaudio_gui.engine.detector.train import _sampling_weights
    recs = [D.Recording("a", "p", "Normal", 1.0, [(0, 1, "Normal")]),
            D.Recording("b", "p", "CAS", 1.0, [(0, 1, "Rhonchi")]),
            D.Recording("c", "gan:p", "CAS", 1.0, [(0, 1, "Wheeze")], synthetic=True),
            D.Recording("d", "gan:p", "CAS", 1.0, [(0, 1, "Stridor")], synthetic=True)]
    w = _sampling_weights(recs, np.arange(4), 0.25)
    assert w[2:].sum() == pytest.approx(0.25) and w[:2].sum() == pytest.approx(0.75)
    assert w[1] > w[0] and w[3] > w[2]                     # the rare-class weighting within each group
    assert np.allclose(_sampling_weights(recs[:2], np.arange(2)), _sampling_weights(recs, np.arange(2), 0.25))
    with pytest.raises(ValueError, match="share"):
        _sampling_weights(recs, np.arange(4), 0.0)


def test_synthetic_recordings_strong_labels(tiny_sprsound, tiny_gan):
    from clinaudio_gui.engine.gan.sampler import GanSampler
    recs = D.scan_recordings(tiny_sprsound)
    D.load_features(recs, cache_dir=None)
    sampler = GanSampler.load(tiny_gan)
    idx = np.arange(len(recs))
    syn = synthetic_recordings(recs, idx, sampler, 3, seed=0)
    again = synthetic_recordings(recs, idx, sampler, 3, seed=0)
    other = synthetic_recordings(recs, idx, sampler, 3, seed=1)
    hop = D.detector_settings().hop_s
    by_audio = {r.audio: r for r in recs}
    changed_any = 0
    for r, r2 in zip(syn, again):
        assert r.synthetic and r.patient.startswith("gan:") and np.array_equal(r.features, r2.features)
        host = by_audio[r.audio.rsplit("#gan", 1)[0]]
        assert r.features.shape == host.features.shape and len(r.events) == len(host.events)
        changed = [(n, o) for n, o in zip(r.events, host.events) if n != o]
        assert 1 <= len(changed) <= 2
        for (s, e, lab), (s0, e0, lab0) in changed:
            assert (s, e) == (s0, e0) and lab0 == "Normal" and lab != "Normal" and lab in sampler.classes
            a, b = int(np.ceil(s / hop)), int(e / hop)
            assert (r.target[a:b] == D.FRAME_CLASSES.index(lab)).all()
            inside = np.abs(r.features[:, :, a:b].astype(np.float32) - host.features[:, :, a:b]).mean()
            mask = np.ones(r.target.shape, bool)
            for (s1, e1, _), _o in changed:
                mask[max(0, int(s1 / hop) - 20):int(e1 / hop) + 20] = False
            outside = np.abs(r.features[:, :, mask].astype(np.float32) - host.features[:, :, mask]).mean()
            assert inside > 3 * outside                         # the sound is where its label is
            changed_any += 1
        assert r.record_label == record_label_of(r.events, host.record_label)
    assert changed_any >= 3
    assert any(not np.array_equal(a.features, b.features) for a, b in zip(syn, other))


def test_detect_train_with_gan_items_cli(tiny_sprsound, tiny_gan, tmp_path):
    cli = [sys.executable, "-m", "clinaudio_gui.cli"]
    common = ["detect-train", "--data", str(tiny_sprsound), "--threads", "1", "--cache", str(tmp_path / "c"),
              "--folds", "2", "--only-folds", "0", "--epochs", "1", "--train-only", "--crop-frames", "128"]
    run = lambda args: subprocess.run(cli + args, capture_output=True, text=True, timeout=400)  # noqa: E731
    base = run(common + ["--out", str(tmp_path / "plain")])
    assert base.returncode == 0, base.stderr[-3000:]
    gan_args = ["gan", "train", "--data", str(tiny_sprsound), "--epochs", "1", "--steps-per-epoch", "1",
                "--batch-size", "4", "--n-critic", "1", "--g-channels", "32", "--d-channels", "8", "--cache", "",
                "--threads", "1"]
    # a generator that does not say whom it saw, and one that saw every patient: refused, naming it
    unknown = run(common + ["--out", str(tmp_path / "leak"), "--augment", "gan", "--gan-model", str(tiny_gan)])
    assert unknown.returncode == 2 and str(tiny_gan) in unknown.stderr, unknown.stderr[-2000:]
    assert "does not list its training patients" in unknown.stderr
    g_all = tmp_path / "g_all"
    assert run(gan_args + ["--out", str(g_all)]).returncode == 0
    leak = run(common + ["--out", str(tmp_path / "leak"), "--augment", "gan", "--gan-model", str(g_all)])
    assert leak.returncode == 2 and str(g_all) in leak.stderr and "would leak them" in leak.stderr
    assert not (tmp_path / "leak" / "fold0" / "manifest.json").exists()
    bad = run(common + ["--out", str(tmp_path / "x"), "--augment", "gan"])
    assert bad.returncode == 2 and "--gan-model" in bad.stderr
    bad = run(common + ["--out", str(tmp_path / "x"), "--augment", "gan", "--gan-model", str(tiny_gan),
                        "--gan-share", "1.5"])
    assert bad.returncode == 2 and "--gan-share 1.5" in bad.stderr
    # a generator that leaves fold 0's validation and test patients out
    gan = tmp_path / "g"
    g = run(gan_args + ["--out", str(gan), "--exclude-patients-of", str(tmp_path / "plain" / "fold0")])
    assert g.returncode == 0, g.stderr[-3000:]
    gm = json.loads((gan / "manifest.json").read_text())
    fold = json.loads((tmp_path / "plain" / "fold0" / "manifest.json").read_text())["split"]
    left = set(fold["test_patients"]) | set(fold["inner_val_patients"])
    assert set(gm["excluded_patients"]["patients"]) == left and not left & set(gm["training_patients"])
    ok = run(common + ["--out", str(tmp_path / "aug"), "--augment", "gan", "--gan-model", str(gan),
                       "--gan-recordings", "4", "--gan-share", "0.3"])
    assert ok.returncode == 0, ok.stderr[-3000:]
    info = json.loads((tmp_path / "aug" / "fold0" / "manifest.json").read_text())["training"]["gan_augment"]
    assert info["recordings"] == 4 and info["share_of_crops"] == 0.3 and sum(info["events_by_class"].values()) >= 4
    assert "Normal" not in info["events_by_class"]
    plain = json.loads((tmp_path / "plain" / "fold0" / "manifest.json").read_text())["training"]
    assert plain["gan_augment"] is None
