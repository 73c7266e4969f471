"""Issue 15 study arms: naa+gan (half naa, half gan copies), GAN filtering by the real-data
classifier of the training fold, several seeds with paired 95 % confidence intervals."""
from __future__ import annotations

import json

import numpy as np

from clinaudio_gui.cli import main as cli_main
from clinaudio_gui.engine.study.study import _split_plan, paired_ci


def test_split_plan_halves_and_keeps_total():
    a, b = _split_plan([5, 0, 2, 1])
    assert a == [3, 0, 1, 1] and b == [2, 0, 1, 0]
    assert [x + y for x, y in zip(a, b)] == [5, 0, 2, 1]


def test_paired_ci_matches_t_interval_and_excludes_zero_for_a_consistent_gain():
    from scipy import stats
    a, b = [0.5, 0.52, 0.55, 0.51], [0.45, 0.47, 0.49, 0.47]
    ci = paired_ci(a, b)
    d = np.subtract(a, b)
    lo, hi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert np.allclose(ci["ci95"], [lo, hi]) and ci["ci95"][0] > 0 and ci["wins"] == 4


def test_study_naa_plus_gan_with_filter_and_two_seeds(tiny_sprsound, capsys):
    rc = cli_main(["study", "--data", str(tiny_sprsound), "--task", "1-2", "--strategies", "none,naa,naa+gan",
                   "--folds", "2", "--run-folds", "1", "--epochs", "1", "--gan-steps", "1", "--cache", "",
                   "--seeds", "2", "--gan-filter", "0.3", "--json", "--threads", "1"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    rows = res["strategies"]["naa+gan"]["folds"]
    assert len(rows) == 2 and {r["seed"] for r in rows} == {1, 101}
    naa = res["strategies"]["naa"]["folds"][0]["train_augmented"]
    for r in rows:
        kept = sum(st["kept"] for st in r["gan_filter"].values())
        drawn = sum(st["drawn"] for st in r["gan_filter"].values())
        assert 0 <= kept <= drawn and all(st["threshold"] == 0.3 for st in r["gan_filter"].values())
        # the naa half is always there; the gan half is what passed the filter
        assert r["train_augmented"] <= naa and r["train_augmented"] >= naa // 2
    g = res["gains"]["naa+gan_vs_naa"]["macro_f1_paired"]
    assert g["n"] == 2 and len(g["ci95"]) == 2 and g["ci95"][0] <= g["mean"] <= g["ci95"][1]
    assert set(res["strategies"]["none"]["rare_recall_mean"]) <= {"Stridor", "Wheeze+Crackle", "Rhonchi",
                                                                  "Coarse Crackle"}
