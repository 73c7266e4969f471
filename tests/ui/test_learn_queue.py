"""Model in the loop, the labeling queue in the real window: the dataset list takes the order of
the model's ranking (compared with rank_queue on the same model), shows the reason beside each
recording, leaves the labeled ('done') ones out, and PgDn / "next recording" follows the queue."""
import shutil

import pytest
from PySide6.QtCore import Qt

from clinaudio_gui.ui.qt_dataset_panel import REASON_COL, UNSURE_COL
from clinaudio_gui.ui.qt_learn_panel import QtLearnPanel

pytestmark = pytest.mark.timeout(120)

UNLABELED = ("40638274_9.7_1_p2_1801", "40801342_4.0_1_p3_899", "40138127_14.7_0_p3_139",
             "40490865_8.4_1_p1_1884", "40728258_11.9_1_p2_2616")
LABELED = ("40794666_4.4_1_p1_41", "40813160_4.1_1_p2_670")


@pytest.fixture
def folder(sprsound_dir, tmp_path):
    d = tmp_path / "project"
    d.mkdir()
    for name in UNLABELED + LABELED:
        shutil.copy(sprsound_dir / f"{name}.flac", d)
    for name in LABELED:                      # their SPRSound JSON beside them: labeled ('done')
        shutil.copy(sprsound_dir / f"{name}.json", d)
    return d


def _expected(folder, strategy, seed):
    from clinaudio_gui.engine.detector.active import analyse_recordings, rank_queue
    from clinaudio_gui.engine.detector.infer import load_detector
    paths = sorted(str(p) for p in folder.glob("*.flac"))
    res = analyse_recordings(load_detector(None), paths)
    return rank_queue(res, strategy, seed=seed, labeled=[str(folder / f"{n}.flac") for n in LABELED])


def _rank(qtbot, panel, strategy, seed=0):
    panel.strategy_combo.setCurrentIndex(panel.strategy_combo.findData(strategy))
    panel.seed_spin.setValue(seed)
    with qtbot.waitSignal(panel.queueRanked, timeout=100_000) as sig:
        assert panel.rank_queue()
        assert panel.rank_button.text() == "Cancel ranking"        # the worker runs, the GUI is free
    return sig.args[0]


def test_queue_order_in_the_dataset_list_follows_the_models_uncertainty(qtbot, win, folder):
    win.open_path(folder)
    qtbot.waitUntil(lambda: all(r.scanned for r in win.dataset.model.rows) and len(win.dataset.paths()) == 7,
                    timeout=20_000)
    panel = QtLearnPanel(win)
    qtbot.addWidget(panel)
    items = _rank(qtbot, panel, "uncertainty")
    expected = _expected(folder, "uncertainty", 0)
    assert [str(p) for p, _s, _r in items] == [it.audio for it in expected]
    shown = [str(p) for p in win.dataset.shown_paths()]
    assert shown[:5] == [it.audio for it in expected], "the list is not in the queue's order"
    assert shown[:5] != sorted(shown[:5]), "the model's order happens to be the name order: pick other files"
    assert sorted(shown[5:]) == sorted(str(folder / f"{n}.flac") for n in LABELED)   # labeled: left out, last
    # the rank and the reason beside each recording
    proxy = win.dataset.proxy
    for i, it in enumerate(expected):
        assert proxy.index(i, UNSURE_COL).data() == str(i + 1)
        assert proxy.index(i, REASON_COL).data() == it.reason and it.reason.startswith(("model unsure", "unsure"))
    assert proxy.index(5, UNSURE_COL).data() == "" and proxy.headerData(UNSURE_COL, Qt.Orientation.Horizontal) == "queue"
    assert proxy.index(6, REASON_COL).data() == "labeled: left out of the queue"
    hdr = win.dataset.view.horizontalHeader()
    assert (hdr.visualIndex(UNSURE_COL), hdr.visualIndex(REASON_COL)) == (1, 2)     # beside the name
    # "next recording" follows the queue
    first = win.dataset.neighbour(None, +1)
    assert str(first) == expected[0].audio
    win.open_path(first)
    qtbot.keyClick(win, Qt.Key.Key_PageDown)
    assert str(win.current_path()) == expected[1].audio


def test_random_queue_follows_its_seed(qtbot, win, folder):
    from clinaudio_gui.engine.detector.active import analyse_recordings, rank_queue
    from clinaudio_gui.engine.detector.infer import load_detector
    win.open_path(folder)
    qtbot.waitUntil(lambda: all(r.scanned for r in win.dataset.model.rows) and len(win.dataset.paths()) == 7,
                    timeout=20_000)
    panel = QtLearnPanel(win)
    qtbot.addWidget(panel)
    a = [str(p) for p, _s, _r in _rank(qtbot, panel, "random", seed=1)]
    b = [str(p) for p, _s, _r in _rank(qtbot, panel, "random", seed=2)]   # re-ranked from the kept analysis
    labeled = [str(folder / f"{n}.flac") for n in LABELED]
    res = analyse_recordings(load_detector(None), sorted(str(p) for p in folder.glob("*.flac")))
    assert a == [it.audio for it in rank_queue(res, "random", seed=1, labeled=labeled)]
    assert b == [it.audio for it in rank_queue(res, "random", seed=2, labeled=labeled)] and a != b
    assert [str(p) for p in win.dataset.shown_paths()[:5]] == b
