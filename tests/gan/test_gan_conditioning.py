"""Issue 15: conditional batch norm, the AC critic, DiffAugment, truncation, exact resume, filtering."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from clinaudio_gui.cli import main as cli_main
from clinaudio_gui.engine.common.package import load_model_package, save_model_package
from clinaudio_gui.engine.gan.model import (CBNGenerator, ConditionalBatchNorm2d, Critic, Generator,
                                            build_generator, cbn_state_from_plain, diff_augment)
from clinaudio_gui.engine.gan.sampler import GanSampler, default_model_dir, latents

torch.set_num_threads(1)


def _cbn(seed=0, se=True):
    torch.manual_seed(seed)
    g = CBNGenerator(4, z_dim=16, embed_dim=4, base_channels=32, se=se)
    with torch.no_grad():  # trained-like class tables (they start at 0)
        for m in g.modules():
            if isinstance(m, ConditionalBatchNorm2d):
                m.gamma.weight.normal_(0, 0.3)
                m.beta.weight.normal_(0, 0.3)
    return g.eval()


def test_cbn_same_z_other_class_other_output_and_class_tables_are_used():
    g = _cbn()
    z = torch.randn(1, 16).repeat(4, 1)
    out = g(z, torch.arange(4))
    for a in range(4):
        for b in range(a + 1, 4):
            assert (out[a] - out[b]).abs().mean() > 1e-3
    # the class tables act in every block: zeroing class 2's rows changes class 2's output only
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, ConditionalBatchNorm2d):
                m.gamma.weight[2] = 0
                m.beta.weight[2] = 0
    out2 = g(z, torch.arange(4))
    assert (out2[2] - out[2]).abs().max() > 1e-3
    assert torch.allclose(out2[[0, 1, 3]], out[[0, 1, 3]])
    n_cbn = sum(isinstance(m, ConditionalBatchNorm2d) for m in g.modules())
    assert n_cbn == 1 + 4 * 3  # bn0 and three per stage


def test_cbn_gradient_reaches_only_the_rows_of_the_classes_in_the_batch():
    g = _cbn().train()
    g(torch.randn(3, 16), torch.tensor([1, 1, 3])).pow(2).mean().backward()
    grad = g.stages[2].res.bn2.gamma.weight.grad
    assert grad[1].abs().sum() > 0 and grad[3].abs().sum() > 0
    assert grad[0].abs().sum() == 0 and grad[2].abs().sum() == 0


def test_plain_generator_converts_exactly_into_cbn():
    torch.manual_seed(1)
    plain = Generator(5, z_dim=16, embed_dim=4, base_channels=32, se=True)
    with torch.no_grad():
        for m in plain.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_()
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2)
    plain.eval()
    cbn = CBNGenerator(5, z_dim=16, embed_dim=4, base_channels=32, se=True)
    cbn.load_state_dict(cbn_state_from_plain(plain.state_dict(), 5), strict=True)
    cbn.eval()
    z, y = torch.randn(5, 16), torch.arange(5)
    assert torch.allclose(plain(z, y), cbn(z, y), atol=1e-5)


def test_old_packages_load_and_unknown_architecture_is_a_clear_error(tmp_path):
    s = GanSampler.load()  # the bundled package (conditional BN since session 7)
    assert isinstance(s.generator, CBNGenerator)
    # a package of the session-1/2 plain generator (class at the input only) still loads as one
    _, m = load_model_package(default_model_dir(), kind="gan-generator")
    a = {**m["architecture"], "generator": "Generator", "critic": "Critic(projection)"}
    torch.manual_seed(0)
    g = build_generator(a, len(m["classes"]), n_mels=64, frames=64)
    m = {k: v for k, v in m.items() if not k.startswith("weights") and k not in ("format", "format_version")}
    save_model_package(tmp_path / "plain", dict(g.state_dict()), {**m, "architecture": a})
    old = GanSampler.load(tmp_path / "plain")
    assert isinstance(old.generator, Generator) and not isinstance(old.generator, CBNGenerator)
    with pytest.raises(ValueError, match="unknown generator architecture 'Banana'"):
        build_generator({"generator": "Banana", "z_dim": 8, "embed_dim": 2, "base_channels": 16, "se": True},
                        3, n_mels=64, frames=64)


def test_ac_critic_gives_class_logits_and_same_score_as_forward():
    torch.manual_seed(0)
    d = Critic(6, base_channels=8, ac=True)
    x, y = torch.randn(3, 1, 64, 64), torch.tensor([0, 2, 5])
    score, logits = d.score_and_logits(x, y)
    assert logits.shape == (3, 6) and torch.allclose(score, d(x, y))
    assert Critic(6, base_channels=8).score_and_logits(x, y)[1] is None


def test_diff_augment_translation_and_cutout_are_differentiable_and_random_per_example():
    torch.manual_seed(0)
    x = torch.randn(8, 1, 64, 64, requires_grad=True)
    a = diff_augment(x, ("translation",))
    assert a.shape == x.shape
    # each row is x shifted in time (zero filled): its non-zero part matches a shifted slice
    shifted = sum(not torch.equal(a[i], x[i]) for i in range(8))
    assert shifted >= 4
    c = diff_augment(x, ("cutout",))
    zeros = (c.detach() == 0).flatten(1).sum(1)
    assert torch.all(zeros == 16 * 16)
    (a.sum() + c.sum()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_truncation_bounds_latents_and_is_reproducible():
    a = latents(50, 32, seed=3, truncation=0.5)
    assert a.abs().max() <= 0.5 and torch.equal(a, latents(50, 32, seed=3, truncation=0.5))
    assert latents(50, 32, seed=3).abs().max() > 1.5
    with pytest.raises(ValueError):
        latents(2, 4, truncation=0)


def _train(tiny, out, epochs, **kw):
    from clinaudio_gui.engine.gan.data import class_list, load_examples
    from clinaudio_gui.engine.gan.train import train_gan
    exs, feat, layout = load_examples(tiny, labels="events")
    classes = class_list(exs, layout=layout, labels="events")
    return train_gan(exs, classes, feat, out_dir=out, epochs=epochs, steps_per_epoch=2, batch_size=4, n_critic=1,
                     g_channels=16, d_channels=4, grid_every_epoch=False, seed=5, **kw)


def test_resume_continues_exactly_from_the_checkpoint(tiny_sprsound, tmp_path):
    straight = _train(tiny_sprsound, tmp_path / "a", 2, resume=False)
    _train(tiny_sprsound, tmp_path / "b", 1, resume=False)
    resumed = _train(tiny_sprsound, tmp_path / "b", 2, require_checkpoint=True)
    ta, ma = load_model_package(straight, kind="gan-generator")
    tb, mb = load_model_package(resumed, kind="gan-generator")
    assert mb["training"]["epochs_done"] == 2 and mb["training"]["generator_steps"] == 4
    assert [h["epoch"] for h in mb["history"]] == [1, 2]
    for k in ta:  # the interrupted run ends exactly where the uninterrupted one does
        assert torch.equal(ta[k], tb[k]), k
    assert ma["architecture"]["generator"] == "CBNGenerator" and "auxiliary" in ma["architecture"]["critic"]
    assert ma["training"]["diffaug"] == ["translation", "cutout"]


def test_cli_resume_without_checkpoint_is_exit_2(tiny_sprsound, tmp_path, capsys):
    rc = cli_main(["gan", "train", "--data", str(tiny_sprsound), "--out", str(tmp_path / "x"), "--resume",
                   "--epochs", "1", "--cache", ""])
    assert rc == 2 and "no checkpoint" in capsys.readouterr().err


def _band_classifier(tiny_sprsound, classes):
    """A real classifier trained here on real patches: logistic regression on per-band means."""
    from sklearn.linear_model import LogisticRegression
    from clinaudio_gui.engine.gan.data import crop, load_examples
    exs, _, _ = load_examples(tiny_sprsound, labels="events")
    rng = np.random.default_rng(0)
    x = np.stack([crop(e.mel_db, 64, rng).mean(1) for e in exs])
    y = np.array([classes.index(e.label) for e in exs])
    clf = LogisticRegression(max_iter=2000).fit(x, y)

    def classify(mels):
        p = np.zeros((len(mels), len(classes)))
        p[:, clf.classes_] = clf.predict_proba(np.asarray(mels).mean(2))
        return p
    return classify


def test_filter_keeps_exactly_the_on_class_samples(tiny_sprsound):
    from clinaudio_gui.engine.gan.filtering import filtered_samples
    s = GanSampler.load()  # the bundled generator: real, varied samples
    classify = _band_classifier(tiny_sprsound, s.classes)
    k = s.class_index("Wheeze")
    probe = s.sample("Wheeze", 16, seed=11)
    p = classify(probe)[:, k]
    thr = float(np.median(p))
    kept, st = filtered_samples(s, "Wheeze", 16, classify, threshold=thr, seed=11, batch=16, max_draws=16)
    want = probe[p >= thr]
    assert 0 < len(want) < 16  # the threshold splits the draw: off-class samples exist
    assert st["drawn"] == 16 and st["kept"] == len(want)
    assert np.array_equal(kept, want)  # exactly the on-class ones, in order
    assert np.all(classify(kept)[:, k] >= thr)
    none, st0 = filtered_samples(s, "Wheeze", 4, classify, threshold=1.0, seed=11, max_draws=8)
    assert len(none) == 0 and st0["acceptance"] == 0.0


def test_nearest_neighbour_distance_is_zero_for_a_copied_training_patch(tiny_sprsound):
    from clinaudio_gui.engine.gan.data import load_examples
    from clinaudio_gui.engine.gan.filtering import nearest_neighbour_distances
    from clinaudio_gui.engine.gan.train import normalization_stats
    exs, _, _ = load_examples(tiny_sprsound, labels="events")
    mean, std = normalization_stats(exs)
    copy = exs[0].mel_db[:, :64][None]
    other = exs[-1].mel_db[:, :64][None] + 3.0
    d = nearest_neighbour_distances(np.concatenate([copy, other]), exs[:-1], mean, std, stride=1)
    assert d[0] < 1e-3 and d[1] > 0.05
