"""SPRSound score, macro F1 and confusion on hand-made cases (numbers worked out by hand)."""
import numpy as np
import pytest

from clinaudio_gui.engine.common.metrics import all_metrics, confusion_matrix, macro_f1, sprsound_scores


def test_confusion_rows_are_truth():
    cm = confusion_matrix([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]


def test_sprsound_score_by_hand():
    # Normal: 8 of 10 right -> SP 0.8. Non-normal: class1 3/5 right, class2 1/5 right (one
    # class-2 item predicted as class 1 does NOT count: exact class) -> SE = 4/10 = 0.4.
    cm = np.array([[8, 1, 1],
                   [1, 3, 1],
                   [2, 2, 1]])
    s = sprsound_scores(cm)
    assert s["sp"] == pytest.approx(0.8)
    assert s["se"] == pytest.approx(0.4)
    assert s["as"] == pytest.approx(0.6)
    assert s["hs"] == pytest.approx(2 * 0.4 * 0.8 / 1.2)
    assert s["score"] == pytest.approx((0.6 + 0.64 / 1.2) / 2)


def test_perfect_and_all_normal():
    assert sprsound_scores(np.diag([5, 3, 2]))["score"] == pytest.approx(1.0)
    s = sprsound_scores(np.array([[10, 0], [5, 0]]))  # predicts Normal for everything
    assert s["sp"] == 1.0 and s["se"] == 0.0 and s["hs"] == 0.0 and s["score"] == pytest.approx(0.25)


def test_normal_index_other_than_zero():
    cm = np.array([[2, 2], [0, 4]])   # "Normal" is class 1 here
    s = sprsound_scores(cm, normal_index=1)
    assert s["sp"] == 1.0 and s["se"] == 0.5


def test_macro_f1_by_hand():
    cm = np.array([[8, 2], [2, 8]])
    assert macro_f1(cm) == pytest.approx(0.8)
    cm = np.array([[5, 0, 0], [0, 0, 0], [5, 0, 0]])  # class 1 absent everywhere: skipped
    # class 0: P 0.5 R 1 -> F1 2/3; class 2: 0
    assert macro_f1(cm) == pytest.approx((2 / 3 + 0) / 2)


def test_all_metrics_uses_label_named_normal():
    m = all_metrics([0, 1, 1], [0, 1, 0], ["Adventitious", "Normal"])
    assert m["sp"] == pytest.approx(0.5) and m["se"] == pytest.approx(1.0)
    assert m["confusion"] == [[1, 0], [1, 1]] and m["n"] == 3
