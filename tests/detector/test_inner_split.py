"""The inner-validation split of each training fold (data.inner_split): patient-wise, and with
``kind="stratified"`` every fold's inner validation holds its share of adventitious events (the
random draw of the bundled folds gave fold 2 only 36 of them; its decoder was chosen on those)."""
from __future__ import annotations

import numpy as np
import pytest

from clinaudio_gui.engine.detector import data as D


@pytest.fixture(scope="module")
def recs(sprsound_dir):
    return D.scan_recordings(sprsound_dir)


def _adventitious(recs, idx) -> int:
    return sum(1 for i in idx for e in recs[i].events if e[2] != "Normal")


@pytest.mark.parametrize("kind", D.INNER_SPLITS)
def test_inner_split_is_patient_wise_and_complete(recs, kind):
    fold = D.patient_kfold(recs, 5, seed=0)
    rest = np.flatnonzero(fold != 0)
    tr, va = D.inner_split(recs, rest, seed=0, kind=kind)
    assert sorted(np.concatenate([tr, va]).tolist()) == sorted(rest.tolist())
    assert not {recs[i].patient for i in tr} & {recs[i].patient for i in va}
    n_pat = len({recs[i].patient for i in rest})
    assert 0.1 * n_pat <= len({recs[i].patient for i in va}) <= 0.2 * n_pat
    again = D.inner_split(recs, rest, seed=0, kind=kind)
    assert np.array_equal(again[1], va)          # a seed gives the same split


def test_stratified_inner_split_spreads_the_events(recs):
    fold = D.patient_kfold(recs, 5, seed=0)
    counts = {kind: [] for kind in D.INNER_SPLITS}
    for k in range(5):
        rest = np.flatnonzero(fold != k)
        share = _adventitious(recs, rest) / len({recs[i].patient for i in rest})
        for kind in D.INNER_SPLITS:
            _tr, va = D.inner_split(recs, rest, seed=k, kind=kind)
            counts[kind].append(_adventitious(recs, va) / (share * len({recs[i].patient for i in va})))
    # events per validation patient relative to the fold's average: random 0.12 ... 1.5
    assert min(counts["random"]) < 0.3
    assert 0.5 < min(counts["stratified"]) and max(counts["stratified"]) < 1.6, counts


def test_unknown_inner_split_is_refused(recs):
    with pytest.raises(ValueError, match="inner split 'x'"):
        D.inner_split(recs, np.arange(10), kind="x")
