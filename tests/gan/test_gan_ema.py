"""The generator's exponential moving average (``gan train --ema``): it leaves training itself
unchanged, follows its formula, survives a resumed call exactly, and a mismatched resume is refused."""
from __future__ import annotations

import pytest

from clinaudio_gui.engine.common.package import load_model_package
from clinaudio_gui.engine.gan.model import KIND

STATS = ("running_mean", "running_var", "num_batches_tracked")


def _setup(tiny_sprsound):
    import torch
    torch.set_num_threads(1)
    from clinaudio_gui.engine.gan.data import class_list, load_examples
    exs, feat, layout = load_examples(tiny_sprsound, labels="events")
    return exs, class_list(exs, layout=layout, labels="events"), feat


def _params(t: dict) -> list[str]:
    return [k for k in t if not k.endswith(STATS)]


def test_ema_leaves_training_unchanged_and_follows_its_formula(tiny_gan, tiny_sprsound, tmp_path):
    import torch
    from clinaudio_gui.engine.gan.train import train_gan
    exs, classes, feat = _setup(tiny_sprsound)
    kw = dict(batch_size=8, n_critic=2, g_channels=32, d_channels=8, resume=False, init_from=tiny_gan,
              grid_every_epoch=False, epochs=1, steps_per_epoch=1, seed=3)
    plain = load_model_package(train_gan(exs, classes, feat, out_dir=tmp_path / "plain", **kw), kind=KIND)[0]
    out = train_gan(exs, classes, feat, out_dir=tmp_path / "ema", ema_decay=0.25, **kw)
    ema, man = load_model_package(out, kind=KIND)
    raw, raw_man = load_model_package(out / "raw", kind=KIND)
    init = load_model_package(tiny_gan, kind=KIND)[0]
    assert man["training"]["ema"] == {"decay": 0.25, "started_at_step": 0}
    assert raw_man["training"]["ema"] is None and man["training"]["generator_steps"] == 1
    assert set(raw) == set(plain) and all(torch.equal(raw[k], plain[k]) for k in plain)  # same training
    keys = _params(init)
    assert any(not torch.equal(raw[k], init[k]) for k in keys)
    for k in keys:   # one generator step: ema = 0.25 * initial + 0.75 * trained
        assert torch.allclose(ema[k], 0.25 * init[k] + 0.75 * raw[k], atol=1e-6), k
    assert any(not torch.equal(ema[k], raw[k]) for k in keys)


def test_ema_resumed_in_two_calls_equals_one_call(tiny_gan, tiny_sprsound, tmp_path):
    import torch
    from clinaudio_gui.engine.gan.train import train_gan
    exs, classes, feat = _setup(tiny_sprsound)
    kw = dict(batch_size=8, n_critic=2, g_channels=32, d_channels=8, init_from=tiny_gan, grid_every_epoch=False,
              steps_per_epoch=2, ema_decay=0.5, seed=1)
    one = load_model_package(train_gan(exs, classes, feat, out_dir=tmp_path / "one", epochs=2, resume=False, **kw),
                             kind=KIND)[0]
    train_gan(exs, classes, feat, out_dir=tmp_path / "two", epochs=1, **kw)
    out = train_gan(exs, classes, feat, out_dir=tmp_path / "two", epochs=2, require_checkpoint=True, **kw)
    two, man = load_model_package(out, kind=KIND)
    assert man["training"]["generator_steps"] == 4 and man["training"]["ema"]["started_at_step"] == 0
    assert all(torch.equal(one[k], two[k]) for k in one)
    with pytest.raises(ValueError, match="moving average"):
        train_gan(exs, classes, feat, out_dir=tmp_path / "two", epochs=3, **{**kw, "ema_decay": 0.0})
    with pytest.raises(ValueError, match="decay 0.5, not 0.9"):
        train_gan(exs, classes, feat, out_dir=tmp_path / "two", epochs=3, **{**kw, "ema_decay": 0.9})
    with pytest.raises(ValueError, match="ema_decay=1.0"):
        train_gan(exs, classes, feat, out_dir=tmp_path / "bad", epochs=1, **{**kw, "ema_decay": 1.0})


def test_ema_started_on_a_checkpoint_without_one(tiny_gan, tiny_sprsound, tmp_path):
    """Resuming a run trained without an average (as models/gan-runs/gan24) starts it from the
    resumed weights and says at which step."""
    import torch
    from clinaudio_gui.engine.gan.train import train_gan
    exs, classes, feat = _setup(tiny_sprsound)
    kw = dict(batch_size=8, n_critic=2, g_channels=32, d_channels=8, init_from=tiny_gan, grid_every_epoch=False,
              steps_per_epoch=2)
    first = train_gan(exs, classes, feat, out_dir=tmp_path / "run", epochs=1, **kw)
    before = load_model_package(first, kind=KIND)[0]
    out = train_gan(exs, classes, feat, out_dir=tmp_path / "run", epochs=2, ema_decay=0.999, **kw)
    ema, man = load_model_package(out, kind=KIND)
    raw = load_model_package(out / "raw", kind=KIND)[0]
    assert man["training"]["ema"] == {"decay": 0.999, "started_at_step": 2}
    assert man["training"]["generator_steps"] == 4
    for k in _params(before):   # two steps at 0.999: still almost the resumed weights, not the trained ones
        assert (ema[k] - before[k]).abs().max() <= (raw[k] - before[k]).abs().max() * 0.01 + 1e-7, k
