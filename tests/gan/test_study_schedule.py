"""Issue 15, the mixing schedule of the study: how augmented examples are drawn during training
(mixed / real-last / decay), and that the `none` arm does not depend on it."""
from __future__ import annotations

import json

import numpy as np
import pytest

from clinaudio_gui.cli import main as cli_main
from clinaudio_gui.engine.study.study import batch_indices


def test_without_augmented_items_every_schedule_draws_as_mixed():
    for sched in ("mixed", "real-last", "decay"):
        rng, ref = np.random.default_rng(5), np.random.default_rng(5)
        for s in range(10):   # the same generator, step after step
            assert np.array_equal(batch_indices(rng, 40, 40, 16, s, 10, sched), ref.integers(0, 40, size=16))


def test_real_last_and_decay_draw_augmented_items_as_they_say():
    rng = np.random.default_rng(0)
    n_real, n_pool, steps = 100, 200, 40
    rl = [batch_indices(rng, n_pool, n_real, 64, s, steps, "real-last") for s in range(steps)]
    assert all((b >= n_real).any() for b in rl[:20])          # first half: the whole pool
    assert all((b < n_real).all() for b in rl[20:])           # second half: real examples only
    dec = [batch_indices(rng, n_pool, n_real, 4000, s, steps, "decay") for s in (0, 20, 39)]
    shares = [float((b >= n_real).mean()) for b in dec]
    assert shares[0] == pytest.approx(0.5, abs=0.03) and shares[1] == pytest.approx(0.25, abs=0.03)
    assert shares[2] < 0.03 and all(((b >= 0) & (b < n_pool)).all() for b in dec)
    mixed = batch_indices(rng, n_pool, n_real, 4000, 39, steps, "mixed")
    assert float((mixed >= n_real).mean()) == pytest.approx(0.5, abs=0.03)
    with pytest.raises(ValueError, match="schedule"):
        batch_indices(rng, n_pool, n_real, 4, 0, steps, "later")


def _study(tiny, capsys, *extra):
    rc = cli_main(["study", "--data", str(tiny), "--task", "1-2", "--strategies", "none,gan", "--folds", "2",
                   "--run-folds", "1", "--epochs", "2", "--gan-steps", "1", "--cache", "", "--json",
                   "--threads", "1", *extra])
    assert rc == 0
    return json.loads(capsys.readouterr().out)


def test_the_study_records_the_schedule_and_none_does_not_depend_on_it(tiny_sprsound, capsys):
    a = _study(tiny_sprsound, capsys)
    b = _study(tiny_sprsound, capsys, "--synthetic-schedule", "real-last")
    assert a["synthetic_schedule"] == "mixed" and b["synthetic_schedule"] == "real-last"
    assert a["strategies"]["none"]["folds"][0]["confusion"] == b["strategies"]["none"]["folds"][0]["confusion"]
    assert b["strategies"]["gan"]["folds"][0]["train_augmented"] > 0
    with pytest.raises(SystemExit):
        cli_main(["study", "--data", str(tiny_sprsound), "--synthetic-schedule", "later"])
