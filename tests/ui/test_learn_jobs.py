"""The Qt-free half of the Model-in-the-loop panel: the fine-tune process's lines, the decision
text, and the counter of recordings newly saved as done."""
import sys

from clinaudio_gui.ui.learn_jobs import (NewLabelCounter, decision_text, finetune_command, parse_progress_line,
                                         parse_result)


def test_finetune_command_runs_the_cli_module_of_this_python():
    cmd = finetune_command("/data/lab", epochs=1, seed=3)
    assert cmd[:3] == [sys.executable, "-m", "clinaudio_gui.cli"]
    assert cmd[3:] == ["learn", "finetune", "/data/lab", "--progress-json", "--epochs", "1", "--seed", "3"]


def test_progress_lines_and_result():
    assert parse_progress_line('{"progress": 0.42, "stage": "fine-tuning"}') == (0.42, "fine-tuning")
    assert parse_progress_line('{"progress": 7}') == (1.0, "")
    for other in ("", "Epoch 1: 100%|####|", '{"stage": "x"}', "{not json", '["progress"]'):
        assert parse_progress_line(other) is None
    out = 'warming up\n{"version": "v0002", "accepted": false}\n'
    assert parse_result(out) == {"version": "v0002", "accepted": False}
    assert parse_result("no json here\n") is None


def test_decision_text_names_the_version_and_its_scores():
    cur = {"event_f": 0.21, "score_2_2": 0.60, "criterion": 0.405}
    better = {"event_f": 0.24, "score_2_2": 0.61, "criterion": 0.425}
    worse = {"event_f": 0.18, "score_2_2": 0.58, "criterion": 0.38}
    t = decision_text({"version": "v0004", "accepted": True, "candidate": better, "current": cur,
                       "current_version": "v0003", "n_train": 40, "n_holdout": 10, "seconds": 61.2})
    assert t.startswith("v0004 in use: event F 0.21 -> 0.24") and "0.405 -> 0.425" in t and "v0003" in t
    assert "40 recordings trained, 10 held back, 61 s" in t
    t = decision_text({"version": "v0004", "accepted": False, "candidate": worse, "current": cur,
                       "current_version": "bundled"})
    assert t == "v0004 kept aside: scored 0.380 < 0.405 of bundled"
    assert "cancelled" in decision_text({"cancelled": True})


def test_counter_counts_recordings_saved_done_not_those_listed_done():
    c = NewLabelCounter()
    assert not c.observe("a.wav", "…", False)          # listed, then scanned as labeled on disk
    assert not c.observe("a.wav", "done", False)
    assert not c.observe("b.wav", "…", False)
    assert not c.observe("b.wav", "unlabeled", False)
    assert not c.observe("b.wav", "in progress", True)   # edited, not saved
    assert not c.observe("b.wav", "done", True)          # marked done, not saved yet
    assert c.observe("b.wav", "done", False)              # saved as done: new
    assert not c.observe("b.wav", "done", False)          # saved again: still one
    assert not c.observe("a.wav", "done", True) and not c.observe("a.wav", "done", False)   # re-saved old label
    assert c.counted == {"b.wav"}
    assert c.still_done(["a.wav", "b.wav"]) == 1 and c.still_done(["a.wav"]) == 0
    c2 = NewLabelCounter(["b.wav"])                       # restored after a restart
    c2.observe("b.wav", "in progress", False)
    assert not c2.observe("b.wav", "done", False)         # never counted twice


def test_finetune_command_at_lower_priority_execs_the_same_round():
    import shutil
    cmd = finetune_command("/data/lab", nice=10)
    if shutil.which("nice"):
        assert cmd[:3] == [shutil.which("nice"), "-n", "10"] and cmd[3:] == finetune_command("/data/lab")
    else:
        assert cmd == finetune_command("/data/lab")
