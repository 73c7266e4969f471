"""Model in the loop end to end on a small real project (real window, real models, a real
fine-tune process): label recordings and mark them done -> the counter reaches N -> the
fine-tune round runs by itself as a separate process -> the versions table shows the new version
with its decision -> "Use this version" changes the model the Classify panel detects with.
And Cancel ends a running round (exit 3) without a new version."""
import json
import shutil

import pytest

from clinaudio_gui.ui.qt_classify_panel import BUNDLED, QtClassifyPanel
from clinaudio_gui.ui.qt_learn_panel import QtLearnPanel, wire_learn

pytestmark = pytest.mark.timeout(420)

# 4 patients; one of them (40490865) is held back by the fine-tuning round to judge the new model
DONE = ("40138127_14.7_0_p3_139", "40138127_14.7_0_p4_140", "40490865_8.4_1_p1_1884", "40490865_8.4_1_p2_1900",
        "40638274_9.7_1_p1_1789", "40801342_4.0_1_p3_899")
TO_LABEL = ("40638274_9.7_1_p1_1753", "40801342_4.0_1_p4_900")


@pytest.fixture
def project(sprsound_dir, tmp_path):
    d, labels = tmp_path / "project", tmp_path / "labels"
    d.mkdir()
    labels.mkdir()
    for name in DONE + TO_LABEL:
        shutil.copy(sprsound_dir / f"{name}.flac", d)
        shutil.copy(sprsound_dir / f"{name}.json", d if name in DONE else labels)
    return d, labels


def _window_with_panels(win):
    clf, learn = QtClassifyPanel(win), QtLearnPanel(win)
    win.panels.update(QtClassifyPanel=clf, QtLearnPanel=learn)
    wire_learn(win)
    return clf, learn


def _detect(qtbot, clf, win, path):
    win.open_path(path)
    with qtbot.waitSignal(clf.classified, timeout=120_000) as sig:
        assert clf.classify()
    return sig.args[0]


def test_label_finetune_version_rollback(qtbot, win, project):
    folder, labels = project
    win.open_path(folder)
    qtbot.waitUntil(lambda: all(r.scanned for r in win.dataset.model.rows), timeout=20_000)
    clf, learn = _window_with_panels(win)
    learn.every_spin.setValue(2)
    learn.extra_args = ["--epochs", "1"]
    assert learn.new_labels() == 0 and learn.counter_label.text().startswith("0 / 2")
    ft_started = []
    # label two recordings in the window: import their SPRSound labels, mark done (Ctrl+D saves)
    for name in TO_LABEL:
        win.open_path(folder / f"{name}.flac")
        assert win.import_annotations(labels / f"{name}.json", "sprsound")
        win.mark_done()
        ft_started.append(learn.finetune_running())
    assert ft_started == [False, True], "the round must start by itself at the N-th new label, not before"
    assert learn.counter_label.text().startswith("2 / 2")
    assert not learn.finetune_button.isEnabled() and learn.cancel_button.isEnabled()
    with qtbot.waitSignal(learn.finetuneFinished, timeout=380_000) as sig:
        pass
    res = sig.args[0]
    assert "error" not in res, res
    assert learn.last_exit == (0, "normal")
    assert res["version"] == "v0001" and res["n_train"] == 6 and res["n_holdout"] == 2
    assert learn.ft_progress.value() == 1000 and learn.finetune_button.isEnabled()
    shown = learn.decision_label.text()
    assert "v0001 in use" in shown if res["accepted"] else "v0001 kept aside" in shown
    assert learn.new_labels() == 0 and learn.counter_label.text().startswith("0 / 2")
    # the versions table: the new version with its status, labels, scores and decision
    t = learn.versions.table
    row = [t.item(0, c).text() for c in range(t.columnCount())]
    assert row[0] == "v0001" and row[1] == ("in use" if res["accepted"] else "kept aside")
    assert row[2] == "6" and " / " in row[3] and " / " in row[4] and "v0001" in row[5]
    assert t.item(t.rowCount() - 1, 0).text() == "bundled"
    # the model the Classify panel uses follows "Use this version"
    other = "bundled" if res["accepted"] else "v0001"
    rec = folder / f"{TO_LABEL[0]}.flac"
    before = _detect(qtbot, clf, win, rec)
    assert ("+ft-v0001" in before["model"]) == res["accepted"]
    assert learn.versions.select_version(other) and learn.versions.use_button.isEnabled()
    with qtbot.waitSignal(learn.modelChanged, timeout=5_000):
        learn.versions.use_button.click()
    assert learn.versions.current == other and f"<b>{other}</b>" in learn.versions.current_label.text()
    assert f"Model {other} now in use" in clf.result_label.text()
    det, version = clf.project_detector(BUNDLED, rec)
    assert (version, det) == ((None, BUNDLED) if other == "bundled" else ("v0001", str(folder / ".clinaudio" /
                                                                                        "models" / "v0001")))
    after = _detect(qtbot, clf, win, rec)
    assert after["model"] != before["model"] and ("+ft-v0001" in after["model"]) == (other == "v0001")
    assert after["model"] in clf.result_label.text()
    assert after["model"] in win.sugg_label.toolTip()                 # the suggestions name their model
    assert all(after["model"] in s.note for s in win._suggestions)
    reg = json.loads((folder / ".clinaudio" / "models" / "registry.json").read_text())
    assert reg["current"] == other


def test_cancel_ends_the_round_without_a_new_version(qtbot, win, project):
    folder, _labels = project
    win.open_path(folder)
    qtbot.waitUntil(lambda: all(r.scanned for r in win.dataset.model.rows), timeout=20_000)
    _clf, learn = _window_with_panels(win)
    learn.extra_args = ["--adapt", "weights", "--epochs", "200"]     # a long round: still running when cancelled
    assert learn.start_finetune()
    assert not learn.start_finetune()                      # one round at a time
    qtbot.waitUntil(lambda: learn.ft_progress.value() >= 150, timeout=300_000)   # in the fine-tuning stage
    with qtbot.waitSignal(learn.finetuneFinished, timeout=110_000) as sig:
        learn.cancel_button.click()
    assert sig.args[0] == {"cancelled": True}
    assert learn.last_exit == (3, "normal")                # the CLI stopped between batches (SIGTERM -> exit 3)
    assert "cancelled" in learn.decision_label.text() and learn.finetune_button.isEnabled()
    reg = folder / ".clinaudio" / "models" / "registry.json"
    assert not reg.exists() or json.loads(reg.read_text())["versions"] == []
    assert learn.versions.table.rowCount() == 1            # the bundled detector only
