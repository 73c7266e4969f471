"""The dataset list sorted by the detector's uncertainty (Classify panel > Rank folder), and the
suggestion keys (N / A / R) in the real main window with the bundled detector."""
import shutil

import pytest

from clinaudio_gui.ui.qt_classify_panel import QtClassifyPanel

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def folder(examples_dir, tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    for name in ("40638274_9.7_1_p2_1801", "40638274_9.7_1_p3_1765", "40638274_9.7_1_p4_1777"):
        for suf in (".flac", ".json"):
            shutil.copy(examples_dir / (name + suf), d / (name + suf))
    return d


def test_rank_folder_sorts_by_model_uncertainty(qtbot, win, folder):
    win.open_path(folder)
    qtbot.waitUntil(lambda: len(win.dataset.paths()) == 3, timeout=20_000)
    panel = QtClassifyPanel(win)
    qtbot.addWidget(panel)
    assert panel.rank_folder()
    qtbot.waitUntil(lambda: len(getattr(win.dataset.model, "uncertainty", {})) == 3, timeout=200_000)
    unc = win.dataset.model.uncertainty
    assert all(0.0 <= u <= 1.0 and reason for u, reason in unc.values())
    proxy = win.dataset.proxy
    shown = [win.dataset.model.rows[proxy.mapToSource(proxy.index(i, 0)).row()].path for i in range(proxy.rowCount())]
    assert [unc[p][0] for p in shown] == sorted((u for u, _ in unc.values()), reverse=True)


def test_suggestion_keys_accept_and_reject(qtbot, win, folder):
    from PySide6.QtCore import Qt
    win.open_path(folder / "40638274_9.7_1_p2_1801.flac")
    qtbot.waitUntil(lambda: win.current_recording() is not None, timeout=20_000)
    panel = QtClassifyPanel(win)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.classified, timeout=200_000):
        assert panel.classify()
    n = len(win._suggestions)
    assert n >= 2
    before = len(win._annotations)
    qtbot.keyClick(win, Qt.Key.Key_N)
    assert win._sugg_selected is not None
    assert win.timeline.selected_suggestion == win._sugg_selected     # outlined on the track
    reg = win.timeline._sugg_items[2 * win._sugg_selected]
    assert reg.lines[0].pen.width() == 3
    qtbot.keyClick(win, Qt.Key.Key_A)
    assert len(win._suggestions) == n - 1 and len(win._annotations) == before + 1
    accepted = [s for s in win._annotations.segments if s.source == "model"]
    assert accepted and accepted[0].confidence is not None
    qtbot.keyClick(win, Qt.Key.Key_R)
    assert len(win._suggestions) == n - 2 and len(win._annotations) == before + 1


def test_import_maps_onto_the_active_schema(qtbot, win, folder):
    """File > Import maps a file's labels onto the schema the user has active (not always SPRSound's)."""
    from pathlib import Path

    from clinaudio_gui.core.schema import get_schema
    hf = Path(__file__).resolve().parents[1] / "data" / "format_corpus" / "hflung" / "steth_20190626_10_21_54_label.txt"
    win.open_path(folder / "40638274_9.7_1_p2_1801.flac")
    qtbot.waitUntil(lambda: win.current_recording() is not None, timeout=20_000)
    win.set_schema(get_schema("breath-phases"))
    assert win.import_annotations(hf, "hflung")
    labels = {s.label for s in win._annotations.segments}
    assert labels & {"Inhalation", "Exhalation"}, labels
    # "D" (a crackle) means nothing in the breath-phase schema: kept as it is and named once
    # (mapped onto the SPRSound schema, as before this fix, it would have become "DAS")
    assert "D" in labels and "DAS" not in labels
    assert "D" in win.statusBar().currentMessage()
