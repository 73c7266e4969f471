"""`clinaudio train --augment gan | naa+gan`: synthetic clips of the bundled generator as extra
training items of the minority classes (real generator, real SPRSound events, tiny real training)."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from clinaudio_gui.cli import main
from clinaudio_gui.engine.classifier import gan_items as G
from clinaudio_gui.engine.classifier.train import EVENT_WINDOW_S, train_classifier
from clinaudio_gui.engine.common import data as D
from clinaudio_gui.engine.gan.sampler import GanSampler, default_model_dir
from clinaudio_gui.io import read_audio

torch.set_num_threads(1)  # this 2-core machine is shared

GEN_DIR = default_model_dir()
MAX_ITEMS = 40


@pytest.fixture(scope="module")
def sampler():
    return GanSampler.load(GEN_DIR, device="cpu")


def _real_split(data_dir, seed=0):
    """The trainer's own split and --max-items subset, recomputed here."""
    items = D.load_items(data_dir, "event")
    tr, va, _, val_p = D.split_items(items, val_fraction=0.2, seed=seed, patients=D.folder_patients(data_dir))
    tr = [tr[i] for i in np.random.default_rng(seed).permutation(len(tr))[:MAX_ITEMS]]
    va = [va[i] for i in np.random.default_rng(seed).permutation(len(va))[:MAX_ITEMS]]
    return tr, va, val_p


def _expected_plan(train_items, ratio, gen_classes):
    counts = np.bincount([D.EVENT_LABELS.index(i.label) for i in train_items], minlength=len(D.EVENT_LABELS))
    minority = [D.EVENT_LABELS[k] for k in range(len(counts)) if 0 < counts[k] < counts.max() / 4]
    return {c: max(1, int(round(ratio * counts[D.EVENT_LABELS.index(c)]))) for c in gen_classes if c in minority}


@pytest.mark.timeout(240)
def test_gan_items_are_minority_labelled_training_only_and_recorded(sprsound_dir, sampler, tmp_path, capsys):
    msgs = []
    out = train_classifier(task="1-2", data_dir=sprsound_dir, out_dir=tmp_path / "m", epochs=1, max_items=MAX_ITEMS,
                           max_batches=1, batch_size=4, cache_dir=tmp_path / "cache", threads=1, device="cpu",
                           augment="gan", gan=G.GanAugment(sampler, str(GEN_DIR), ratio=0.5, seed=3),
                           log=msgs.append)
    man = json.loads((out / "manifest.json").read_text())
    ga = man["training"]["gan_augment"]
    tr, va, val_p = _real_split(sprsound_dir)
    plan = _expected_plan(tr, 0.5, sampler.classes)
    assert plan, "the 40-item subset must have a minority class for this test to mean anything"
    assert "Normal" not in plan
    assert ga["per_class"] == plan and ga["n_synthetic"] == sum(plan.values())
    assert ga["model"] == str(GEN_DIR) and ga["ratio"] == 0.5 and ga["seed"] == 3
    assert ga["weights_sha256"] == sampler.manifest["weights_sha256"]
    # synthetic items are added to training only: validation is exactly the real held-out items
    assert man["training"]["n_train_items"] == len(tr) + ga["n_synthetic"]
    assert man["training"]["n_val_items"] == len(va) == sum(man["validation"]["confusion"][i][j]
                                                             for i in range(7) for j in range(7))
    assert G.SYNTHETIC_PATIENT not in man["split"]["val_patients"]
    # the clips on disk carry the intended labels, are audio at the classifier's rate and <= the window
    (folder,) = (tmp_path / "cache" / "gan-audio").iterdir()
    rows = json.loads((folder / "items.json").read_text())["items"]
    assert sorted(r["label"] for r in rows) == sorted(c for c, n in plan.items() for _ in range(n))
    for r in rows:
        y, sr = read_audio(folder / r["file"])
        assert sr == 8000 and 0.5 <= len(y) / sr <= EVENT_WINDOW_S + 0.1 and np.abs(y).max() > 0
    # leakage: the number of validation patients the generator trained on, on stderr and in the manifest
    seen = len(set(sampler.manifest["training_patients"]) & set(val_p))
    assert man["split"]["val_patients"] == val_p
    assert ga["validation_patients_seen_by_generator"] == seen and ga["n_validation_patients"] == len(val_p)
    assert seen > 0  # the bundled generator trained on 4 of 5 patient folds; this split is random
    err = capsys.readouterr().err
    assert f"trained on {seen} of the {len(val_p)} validation patients" in err
    assert len([line for line in err.splitlines() if "warning" in line]) == 1
    assert any("GAN items" in m and "training part only" in m for m in msgs)


def test_same_seed_same_items_other_seed_other_items(sampler, tmp_path):
    gan = G.GanAugment(sampler, str(GEN_DIR), ratio=0.5, seed=7)
    plan, durs = {"Wheeze": 2, "Stridor": 1}, {"Wheeze": 1.0, "Stridor": 2.0}

    def audio(items):
        return [read_audio(i.audio)[0] for i in items]

    a = G.synthesize_items(gan, plan, durs, sample_rate_hz=8000, cache_dir=tmp_path / "a", log=lambda m: None)
    b = G.synthesize_items(gan, plan, durs, sample_rate_hz=8000, cache_dir=tmp_path / "b", log=lambda m: None)
    c = G.synthesize_items(G.GanAugment(sampler, str(GEN_DIR), seed=8), plan, durs, sample_rate_hz=8000,
                           cache_dir=tmp_path / "c", log=lambda m: None)
    assert [i.label for i in a] == ["Wheeze", "Wheeze", "Stridor"] == [i.label for i in b]
    assert all(np.array_equal(x, y) for x, y in zip(audio(a), audio(b)))
    assert not any(np.array_equal(x, y) for x, y in zip(audio(a), audio(c)))
    # two items of one class differ (each its own latent)
    assert not np.array_equal(audio(a)[0], audio(a)[1])


@pytest.mark.timeout(240)
def test_cli_naa_plus_gan_run(sprsound_dir, tmp_path, capsys):
    out = tmp_path / "m"
    rc = main(["train", "--task", "1-2", "--data", str(sprsound_dir), "--out", str(out), "--epochs", "1",
               "--max-items", str(MAX_ITEMS), "--max-batches", "1", "--batch-size", "4", "--threads", "1",
               "--device", "cpu", "--cache", str(tmp_path / "cache"), "--augment", "naa+gan",
               "--gan-ratio", "1", "--gan-seed", "2"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    man = json.loads((out / "manifest.json").read_text())
    tr, va, _ = _real_split(sprsound_dir)
    plan = _expected_plan(tr, 1.0, GanSampler.load(GEN_DIR).classes)
    ga = man["training"]["gan_augment"]
    assert man["training"]["augment"] == "naa+gan" and ga["per_class"] == plan and ga["seed"] == 2
    assert "augmented minority-class items" in cap.out  # the naa copies are there too
    assert man["training"]["n_train_items"] > len(tr) + ga["n_synthetic"]
    assert man["training"]["n_val_items"] == len(va)


def test_bad_generator_folder_is_one_line_exit_2_nothing_written(sprsound_dir, tmp_path, capsys):
    base = ["train", "--task", "1-2", "--data", str(sprsound_dir), "--out", str(tmp_path / "out"), "--epochs", "1",
            "--cache", str(tmp_path / "cache"), "--max-items", "8", "--augment", "gan"]
    not_gen = Path(__file__).resolve().parents[2] / "models" / "classifier-1-2"  # a package of another kind
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (not_gen, empty, tmp_path / "missing"):
        assert main(base + ["--gan-model", str(folder)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(folder) in err and "--gan-model" in err, err
    assert "not a generator package" in err or "no such folder" in err
    # an event generator cannot serve a record task; --gan-model without a GAN strategy is an error
    assert main(["train", "--task", "2-2"] + base[3:]) == 2
    assert "makes events but task 2-2" in capsys.readouterr().err
    assert main(base[:-1] + ["naa", "--gan-model", str(GEN_DIR)]) == 2
    assert "needs --augment gan" in capsys.readouterr().err
    assert main(base + ["--gan-ratio", "0"]) == 2
    assert "--gan-ratio" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


@pytest.mark.timeout(240)
def test_val_from_gan_validates_on_the_generators_held_out_patients(sprsound_dir, sampler, tmp_path, capsys):
    out = tmp_path / "m"
    rc = main(["train", "--task", "1-2", "--data", str(sprsound_dir), "--out", str(out), "--epochs", "1",
               "--max-items", str(MAX_ITEMS), "--max-batches", "1", "--batch-size", "4", "--threads", "1",
               "--device", "cpu", "--cache", str(tmp_path / "cache"), "--augment", "gan", "--val-from-gan"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    man = json.loads((out / "manifest.json").read_text())
    split, ga = man["split"], man["training"]["gan_augment"]
    seen = set(sampler.manifest["training_patients"])
    folder = D.folder_patients(sprsound_dir)
    val_p = split["val_patients"]
    # validation = every patient of the data the generator never trained on (the split's own ids),
    # training = all the others; none of the validation patients is one the generator saw
    assert val_p and not set(val_p) & seen
    assert val_p == sorted(set(folder) - seen)
    assert split["n_train_patients"] == len(folder) - len(val_p)
    # ...which, among the patients with events, are exactly the generator's held-out fold
    with_events = {i.patient for i in D.load_items(sprsound_dir, "event")}
    assert set(val_p) & with_events == set(sampler.manifest["holdout"]["patients"]) & with_events
    # the default random split (--val-fraction 0.2, --seed 0) is a different one, leaky
    assert set(_real_split(sprsound_dir)[2]) & seen
    assert split["method"] == "generator-holdout" and split["generator"] == str(GEN_DIR)
    assert split["generator_weights_sha256"] == sampler.manifest["weights_sha256"]
    assert split["n_val_patients"] == len(val_p) and split["val_patients_sha"] == D.split_digest(val_p)
    assert ga["validation_patients_seen_by_generator"] == 0 and ga["n_validation_patients"] == len(val_p)
    assert "warning" not in cap.err
    # the validation items are real events of those patients only (the --max-items subset of them)
    n_val_events = sum(1 for i in D.load_items(sprsound_dir, "event") if i.patient in set(val_p))
    assert man["training"]["n_val_items"] == min(MAX_ITEMS, n_val_events)


@pytest.mark.timeout(240)
def test_val_from_gan_without_gan_items_shares_the_split(sprsound_dir, sampler, tmp_path, capsys):
    """A model without GAN items (no --augment, or naa) on the same generator-held-out split as a
    gan model, so that none / naa / gan can be compared: no synthetic item, the same validation."""
    seen = set(sampler.manifest["training_patients"])
    expected = sorted(set(D.folder_patients(sprsound_dir)) - seen)
    base = ["train", "--task", "1-2", "--data", str(sprsound_dir), "--epochs", "1", "--cache", str(tmp_path / "cache"),
            "--max-items", "8", "--max-batches", "1", "--batch-size", "4", "--threads", "1", "--device", "cpu",
            "--val-from-gan"]
    for name, extra in (("plain", []), ("naa", ["--augment", "naa", "--gan-model", str(GEN_DIR)])):
        out = tmp_path / name
        assert main(base + ["--out", str(out)] + extra) == 0, capsys.readouterr().err
        man = json.loads((out / "manifest.json").read_text())
        assert man["split"]["method"] == "generator-holdout" and man["split"]["generator"] == str(GEN_DIR)
        assert man["split"]["val_patients"] == expected
        assert man["training"]["gan_augment"] is None          # the generator chose the split only
        assert "warning" not in capsys.readouterr().err
    # without --val-from-gan, --gan-model still needs a GAN strategy; the library call needs a generator
    assert main(base[:-1] + ["--out", str(tmp_path / "x"), "--augment", "naa", "--gan-model", str(GEN_DIR)]) == 2
    assert "needs --augment gan" in capsys.readouterr().err
    with pytest.raises(ValueError, match="--val-from-gan needs a generator"):
        train_classifier(task="1-2", data_dir=sprsound_dir, out_dir=tmp_path / "y", cache_dir=tmp_path / "cache",
                         augment="naa", val_from_gan=True, epochs=1, max_items=8, max_batches=1, batch_size=4,
                         threads=1, device="cpu")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


@pytest.mark.timeout(120)
def test_val_from_gan_needs_the_generators_training_patients(sprsound_dir, tmp_path, capsys):
    base = ["train", "--task", "1-2", "--data", str(sprsound_dir), "--out", str(tmp_path / "out"), "--epochs", "1",
            "--cache", str(tmp_path / "cache"), "--max-items", "8", "--max-batches", "1",
            "--batch-size", "4", "--threads", "1", "--device", "cpu", "--augment", "gan", "--val-from-gan"]
    man = json.loads((GEN_DIR / "manifest.json").read_text())

    def generator(name, **changes):
        folder = tmp_path / name
        shutil.copytree(GEN_DIR, folder)
        m = {k: v for k, v in man.items() if k != "training_patients"}
        m.update({k: v for k, v in changes.items() if v is not None})
        (folder / "manifest.json").write_text(json.dumps(m, indent=1))
        return folder

    # no training-patient list: the held-out patients are unknown
    folder = generator("no-list")
    assert main(base + ["--gan-model", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(folder) in err and "training patients" in err, err
    # a generator that trained on every patient of the data leaves no validation patient
    folder = generator("saw-all", training_patients=D.folder_patients(sprsound_dir))
    assert main(base + ["--gan-model", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(folder) in err and "none is held out" in err, err
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()
