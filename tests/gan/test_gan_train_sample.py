"""Training smoke run on real SPRSound files, package loading, determinism, the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from clinaudio_gui.cli import main as cli_main
from clinaudio_gui.engine.gan.model import KIND
from clinaudio_gui.engine.gan.sampler import GanSampler, default_model_dir
from clinaudio_gui.engine.common.package import load_model_package


def test_smoke_train_writes_loadable_package_and_png_grid(tiny_gan):
    tensors, manifest = load_model_package(tiny_gan, kind=KIND)
    assert manifest["features"]["n_mels"] == 64 and manifest["features"]["frames"] == 64
    assert len(manifest["normalization"]["mean_db"]) == 64
    assert "Normal" in manifest["classes"] and len(manifest["classes"]) >= 3
    assert (tiny_gan / "model.safetensors").stat().st_size < 20 * 2 ** 20
    png = tiny_gan / "samples" / "epoch_001.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tiny_gan / "checkpoint" / "manifest.json").is_file()
    s = GanSampler.load(tiny_gan)
    imgs = s.sample("Normal", 3, seed=0)
    assert imgs.shape == (3, 64, 64) and np.isfinite(imgs).all()
    assert imgs.min() >= -80.0


def test_same_seed_same_samples_other_seed_other_samples(tiny_gan):
    s = GanSampler.load(tiny_gan)
    a = s.sample("Normal", 4, seed=7)
    b = GanSampler.load(tiny_gan).sample("Normal", 4, seed=7)
    c = s.sample("Normal", 4, seed=8)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    # batch independence: the first of 4 equals the single sample with the same seed
    assert np.allclose(s.sample("Normal", 1, seed=7)[0], a[0], atol=1e-4)


def test_unknown_label_is_a_clear_error(tiny_gan, tmp_path, capsys):
    rc = cli_main(["gan", "sample", "--model", str(tiny_gan), "--label", "Banana", "-n", "2",
                   "--out", str(tmp_path)])
    assert rc == 2
    assert "Banana" in capsys.readouterr().err


def test_cli_sample_with_model_writes_npy_wav_and_labels(tiny_gan, tmp_path):
    out = tmp_path / "s"
    assert cli_main(["gan", "sample", "--model", str(tiny_gan), "--label", "Normal", "-n", "2", "--out", str(out),
                     "--seed", "3", "--audio"]) == 0
    npys = sorted(out.glob("*.npy"))
    wavs = sorted(out.glob("*.wav"))
    assert len(npys) == 2 and len(wavs) == 2
    y, sr = sf.read(wavs[0])
    assert sr == 8000 and len(y) > 0.4 * 8000 and np.abs(y).max() > 0
    labels = json.loads((out / "labels.json").read_text())
    assert [r["label"] for r in labels["samples"]] == ["Normal", "Normal"]
    assert (out / "labels.csv").read_text().splitlines()[1].endswith(",Normal")


@pytest.mark.skipif(not (default_model_dir() / "manifest.json").is_file(), reason="bundled generator not committed yet")
def test_cli_sample_with_bundled_generator(tmp_path):
    out = tmp_path / "b"
    assert cli_main(["gan", "sample", "--label", "Wheeze", "-n", "3", "--out", str(out), "--seed", "1",
                     "--audio"]) == 0
    npys = sorted(out.glob("*.npy"))
    assert len(npys) == 3 and len(list(out.glob("*.wav"))) == 3
    img = np.load(npys[0])
    assert img.shape == (64, 64)
    again = tmp_path / "b2"
    assert cli_main(["gan", "sample", "--label", "Wheeze", "-n", "3", "--out", str(again), "--seed", "1"]) == 0
    assert np.array_equal(np.load(sorted(again.glob("*.npy"))[0]), img)
    assert {r["label"] for r in json.loads((out / "labels.json").read_text())["samples"]} == {"Wheeze"}


def test_cli_train_smoke(tiny_sprsound, tmp_path):
    out = tmp_path / "m"
    rc = cli_main(["gan", "train", "--data", str(tiny_sprsound), "--out", str(out), "--epochs", "1",
                   "--steps-per-epoch", "1", "--batch-size", "4", "--n-critic", "1", "--g-channels", "32",
                   "--d-channels", "8", "--no-se", "--cache", "", "--threads", "1"])
    assert rc == 0
    _, manifest = load_model_package(out, kind=KIND)
    assert manifest["architecture"]["se"] is False
    assert manifest["command"].startswith("clinaudio gan train")
    assert (out / "samples" / "epoch_001.png").is_file()


def test_study_smoke_json_fields(tiny_sprsound, capsys):
    rc = cli_main(["study", "--data", str(tiny_sprsound), "--task", "1-2", "--strategies", "none,taa,gan",
                   "--folds", "2", "--run-folds", "1", "--epochs", "1", "--gan-steps", "1", "--cache", "",
                   "--json", "--threads", "1"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["strategies"]) == {"none", "taa", "gan"}
    for v in res["strategies"].values():
        for k in ("macro_f1_mean", "macro_f1_std", "score_mean", "score_std"):
            assert 0.0 <= v[k] <= 1.0
        assert v["folds"][0]["validation"] > 0
    assert "gan_vs_none" in res["gains"]
    assert res["strategies"]["gan"]["folds"][0]["train_augmented"] > 0
    assert res["labels"][0] == "Normal"


def test_study_gan_dir_reuses_matching_fold_gan_only(tiny_sprsound, tmp_path, capsys):
    gdir = tmp_path / "fold_gans"
    args = ["study", "--data", str(tiny_sprsound), "--task", "1-2", "--strategies", "gan", "--folds", "2",
            "--run-folds", "1", "--epochs", "1", "--gan-steps", "1", "--cache", "", "--json", "--threads", "1",
            "--gan-dir", str(gdir)]
    assert cli_main(args) == 0
    first = json.loads(capsys.readouterr().out)
    weights = gdir / "fold-1" / "model.safetensors"
    man = json.loads((gdir / "fold-1" / "manifest.json").read_text())
    assert man["study_fold"]["fold"] == 1 and man["study_fold"]["budget"] == "1 steps"
    assert man["training_patients"] and set(man["training_patients"]) == set(man["study_fold"]["training_patients"])
    stamp = weights.stat().st_mtime_ns
    # same fold, same budget: the GAN is reused (file untouched) and gives the same result
    assert cli_main(args) == 0
    out = capsys.readouterr()
    again = json.loads(out.out)
    assert "reusing the fold GAN" in out.err
    assert weights.stat().st_mtime_ns == stamp
    assert again["strategies"]["gan"]["macro_f1"] == first["strategies"]["gan"]["macro_f1"]
    # another budget: retrained, not reused
    assert cli_main([a if a != "1" or i != args.index("--gan-steps") + 1 else "2" for i, a in enumerate(args)]) == 0
    out = capsys.readouterr()
    assert "reusing" not in out.err and "retraining" in out.err
    assert json.loads((gdir / "fold-1" / "manifest.json").read_text())["study_fold"]["budget"] == "2 steps"
    # a folder that is not a fold GAN is never deleted: a clear error instead
    other = tmp_path / "mine"
    (other / "fold-1").mkdir(parents=True)
    (other / "fold-1" / "notes.txt").write_text("keep me")
    rc = cli_main([a if a != str(gdir) else str(other) for a in args])
    assert rc == 2
    err = capsys.readouterr().err
    assert "fold-1" in err and "not a study fold GAN" in err
    assert (other / "fold-1" / "notes.txt").read_text() == "keep me"


def test_critic_warmup_trains_the_critic_only_then_changes_the_generator_steps(tiny_gan, tiny_sprsound, tmp_path):
    """--critic-warmup with --init-from: warm-up alone leaves the generator's weights as loaded;
    the generator step that follows is taken against the warmed critic, so it differs from one
    taken against a new critic."""
    import torch
    torch.set_num_threads(1)
    from clinaudio_gui.engine.gan.data import class_list, load_examples
    from clinaudio_gui.engine.gan.train import train_gan
    exs, feat, layout = load_examples(tiny_sprsound, labels="events")
    classes = class_list(exs, layout=layout, labels="events")
    init, _ = load_model_package(tiny_gan, kind=KIND)
    kw = dict(batch_size=8, n_critic=2, g_channels=32, d_channels=8, resume=False, init_from=tiny_gan,
              grid_every_epoch=False)
    only = train_gan(exs, classes, feat, out_dir=tmp_path / "warm_only", epochs=0, critic_warmup=3, **kw)
    t, m = load_model_package(only, kind=KIND)
    assert m["training"]["critic_warmup_steps"] == 3 and m["training"]["generator_steps"] == 0
    params = [k for k in init if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert params and all(torch.equal(t[k], init[k]) for k in params)
    runs = {}
    for w in (0, 3):
        out = train_gan(exs, classes, feat, out_dir=tmp_path / f"w{w}", epochs=1, steps_per_epoch=1,
                        critic_warmup=w, **kw)
        runs[w] = load_model_package(out, kind=KIND)[0]
    assert any(not torch.equal(runs[0][k], runs[3][k]) for k in params)
    assert any(not torch.equal(runs[0][k], init[k]) for k in params)


def test_critic_warmup_is_counted_across_resumed_calls_and_negative_is_an_error(tiny_gan, tiny_sprsound, tmp_path):
    """A run trained in several --max-minutes calls (resumed from its checkpoint) reports the
    warm-up of its first call in the package it finally writes; a negative warm-up is refused."""
    import torch
    torch.set_num_threads(1)
    from clinaudio_gui.engine.gan.data import class_list, load_examples
    from clinaudio_gui.engine.gan.train import train_gan
    exs, feat, layout = load_examples(tiny_sprsound, labels="events")
    classes = class_list(exs, layout=layout, labels="events")
    kw = dict(batch_size=8, n_critic=2, g_channels=32, d_channels=8, init_from=tiny_gan, grid_every_epoch=False,
              steps_per_epoch=1)
    out = tmp_path / "chunks"
    train_gan(exs, classes, feat, out_dir=out, epochs=1, critic_warmup=4, **kw)
    out = train_gan(exs, classes, feat, out_dir=out, epochs=2, critic_warmup=4, **kw)   # resumes epoch 1
    m = load_model_package(out, kind=KIND)[1]
    assert m["training"]["epochs_done"] == 2 and m["training"]["generator_steps"] == 2
    assert m["training"]["critic_warmup_steps"] == 4     # the second call resumed: no second warm-up
    with pytest.raises(ValueError, match="critic_warmup=-1"):
        train_gan(exs, classes, feat, out_dir=tmp_path / "neg", epochs=1, critic_warmup=-1, **kw)
