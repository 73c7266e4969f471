"""Frechet distance and class agreement (gan fid) on real SPRSound patches and the bundled classifier."""
from __future__ import annotations

import json

import numpy as np
import pytest

from clinaudio_gui.cli import main as cli_main
from clinaudio_gui.engine.gan.data import default_features, load_examples
from clinaudio_gui.engine.gan.quality import frechet_distance, per_class_fd, real_patches
from clinaudio_gui.engine.study.embedders import ClassifierEmbedder


def test_frechet_distance_zero_for_same_set_and_squared_shift_for_translated_set():
    a = np.random.default_rng(0).standard_normal((200, 8))
    assert abs(frechet_distance(a, a)) < 1e-6
    shift = np.arange(8) * 0.5
    assert frechet_distance(a, a + shift) == pytest.approx(float((shift ** 2).sum()), rel=1e-6)
    b = np.random.default_rng(1).standard_normal((200, 8)) * 2.0
    assert frechet_distance(a, b) > 1.0
    with pytest.raises(ValueError, match=">= 2"):
        frechet_distance(a[:1], a)


@pytest.fixture(scope="module")
def tiny_examples(tiny_sprsound):
    exs, feat, _ = load_examples(tiny_sprsound, labels="events", features=default_features("sprsound"))
    return exs, feat


class _RealSampler:
    """Returns real crops of `source(label)`: the same crops per_class_fd draws as 'real' when
    source is the identity (an oracle generator), another class's otherwise."""

    def __init__(self, exs, classes, frames, source=lambda c: c):
        self.exs, self.classes, self.frames, self.source = exs, classes, frames, source

    def sample(self, label, n, *, seed=0):
        return real_patches(self.exs, self.source(label), n, self.frames, seed=0)


def test_oracle_generator_has_zero_fd_and_real_agreement(tiny_examples):
    exs, feat = tiny_examples
    classes = sorted({e.label for e in exs}, key=lambda c: (c != "Normal", c))
    other = {c: classes[(i + 1) % len(classes)] for i, c in enumerate(classes)}
    samplers = {"oracle": _RealSampler(exs, classes, feat["frames"]),
                "wrong": _RealSampler(exs, classes, feat["frames"], source=other.get)}
    res = per_class_fd(samplers, exs, [], feat, ClassifierEmbedder("1-2"), n_per_class=4, seed=0)
    assert set(res) == set(classes)
    for c, r in res.items():
        assert abs(r["fd"]["oracle"]) < 1e-3 * max(1.0, r["fd"]["wrong"])
        assert r["fd"]["wrong"] > 1e-2
        assert r["agreement"]["oracle"] == r["agreement_real"]
        assert 0.0 <= r["agreement"]["wrong"] <= 1.0
    # the bundled event classifier recognises real Normal crops at least sometimes
    assert res["Normal"]["agreement_real"] > 0


def test_cli_fid_json_has_fd_and_agreement_per_model(tiny_gan, tiny_sprsound, capsys):
    rc = cli_main(["gan", "fid", "--data", str(tiny_sprsound), "--models", str(tiny_gan), f"{tiny_gan}@trunc=0.5",
                   "--n-per-class", "3", "--cache", "", "--json", "--threads", "1"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    name = tiny_gan.name
    assert out["embedder"] == "classifier"
    assert out["per_class"] and name in out["mean_fd"] and out["mean_fd"][name] > 0
    for r in out["per_class"].values():
        assert 0.0 <= r["agreement"][name] <= 1.0 and 0.0 <= r["agreement_real"] <= 1.0
    assert 0.0 <= out["mean_agreement"][name] <= 1.0
    # the truncated variant is a second column; its samples differ from the plain ones
    tname = f"{name}@trunc=0.5"
    assert tname in out["mean_fd"] and out["mean_fd"][tname] != out["mean_fd"][name]
    # memorisation check: nearest-neighbour distances of generated and of real held-out patches
    nn = out["nearest_neighbour"]
    assert nn and all(name in r and tname in r for r in nn.values())
    assert all(r[name]["median"] > 0 and r[name]["n"] >= 2 for r in nn.values())


def test_cli_fid_unknown_variant_option_is_exit_2(tiny_gan, tiny_sprsound, capsys):
    rc = cli_main(["gan", "fid", "--data", str(tiny_sprsound), "--models", f"{tiny_gan}@banana=1", "--cache", ""])
    assert rc == 2 and "banana" in capsys.readouterr().err
