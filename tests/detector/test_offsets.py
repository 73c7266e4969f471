"""scoring.fit_offsets modes: per-class offsets, one shared offset for the adventitious classes,
or none, each fitted to raise the SPRSound Score on the data it is given."""
import numpy as np
import pytest

from clinaudio_gui.engine.detector import scoring as S

LABELS = ["Normal", "CAS", "DAS"]


def _case():
    """Normal is over-predicted: every adventitious event has Normal 0.5 against 0.3 / 0.2, so no
    adventitious event is found without an offset; DAS events lean to DAS, CAS events to CAS."""
    rng = np.random.default_rng(0)
    p, y = [], []
    for _ in range(60):
        p.append([0.8, 0.1, 0.1]), y.append(0)
    for _ in range(30):
        p.append([0.5, 0.3, 0.2]), y.append(1)
    for _ in range(30):
        p.append([0.5, 0.2 + 0.05 * rng.random(), 0.3]), y.append(2)
    return np.array(p), np.array(y)


def _score(p, y, off):
    return S.all_metrics(y, S.predict_with_offsets(p, off), LABELS)["score"]


def test_shared_moves_only_the_normal_trade_off():
    p, y = _case()
    off = S.fit_offsets(p, y, LABELS, mode="shared")
    assert off[0] == 0.0 and off[1] == off[2] > 0
    assert _score(p, y, off) > _score(p, y, None) + 0.3
    # the adventitious classes keep their order: CAS events predicted CAS, DAS events DAS
    pred = S.predict_with_offsets(p, off)
    assert (pred[y == 1] == 1).all() and (pred[y == 2] == 2).all()


def test_per_class_is_at_least_shared_in_sample_and_none_is_zero():
    p, y = _case()
    per = S.fit_offsets(p, y, LABELS)
    assert _score(p, y, per) >= _score(p, y, S.fit_offsets(p, y, LABELS, mode="shared")) - 1e-12
    assert np.array_equal(S.fit_offsets(p, y, LABELS, mode="none"), np.zeros(3))
    assert np.array_equal(S.fit_offsets(p[:0], y[:0], LABELS, mode="shared"), np.zeros(3))


def test_bad_mode():
    p, y = _case()
    with pytest.raises(ValueError, match="offset mode 'twice'"):
        S.fit_offsets(p, y, LABELS, mode="twice")
