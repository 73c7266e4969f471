"""UI test helpers: isolated QSettings, a copied SPRSound recording, real mouse drags on a view."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SPRSOUND_NAME = "40638274_9.7_1_p2_1801"   # 9.2 s, 8 kHz, CAS & DAS, 4 events


@pytest.fixture(autouse=True)
def _own_qsettings(isolated_qsettings):
    """Every UI test runs with the isolated QSettings store of tests/conftest.py."""
    yield isolated_qsettings


@pytest.fixture
def sprsound_copy(sprsound_dir, tmp_path) -> Path:
    """A real SPRSound recording + its JSON, copied so the test may write sidecars beside it."""
    folder = tmp_path / "data"
    folder.mkdir()
    for suf in (".flac", ".json"):
        shutil.copy(sprsound_dir / (SPRSOUND_NAME + suf), folder / (SPRSOUND_NAME + suf))
    return folder / (SPRSOUND_NAME + ".flac")


@pytest.fixture
def win(qtbot):
    """A shown main window without side panels (the views, dataset and segment table only)."""
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    w = QtMainWindow(load_panels=False)
    qtbot.addWidget(w)
    w.resize(1300, 800)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    yield w
    w.close()
