import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from clinaudio_gui.core import AnnotationSet, Autosaver, Project, Segment, sidecar_path
from clinaudio_gui.core.project import read_annotation_file


@pytest.fixture
def project(tmp_path):
    for n in ("a.wav", "b.flac", "notes.txt"):
        (tmp_path / n).write_bytes(b"x")
    return Project(tmp_path)


def test_lists_recordings_and_saves_sidecar(project):
    recs = project.recordings()
    assert [r.name for r in recs] == ["a.wav", "b.flac"]
    a = AnnotationSet([Segment(0, 1, "Wheeze")], "CAS")
    assert project.status_of(recs[0]) == "unlabeled"
    side = project.save(recs[0], a)
    assert side == sidecar_path(recs[0]) and side.exists()
    assert not a.dirty
    assert project.load(recs[0]).same_content(a)
    assert project.status_of(recs[0]) == "in progress"


def test_autosave_is_recovered_and_cleared_by_save(project):
    rec = project.recordings()[0]
    a = AnnotationSet()
    project.save(rec, a)
    time.sleep(0.01)
    a.add(Segment(1, 2, "Fine Crackle"))
    saver = Autosaver(project, delay_s=0.0)
    saver.notify_changed(rec, a)
    assert saver.tick()
    assert [i.audio_path for i in project.pending_recovery()] == [rec]
    restored = project.load(rec)
    assert restored.same_content(a) and restored.dirty
    project.save(rec, restored)
    assert project.pending_recovery() == []



def test_undoing_back_to_the_saved_state_drops_the_autosave(project):
    """An autosave of edits that were then undone would bring them back on the next open."""
    rec = project.recordings()[0]
    a = AnnotationSet([Segment(0, 1, "Wheeze")])
    project.save(rec, a)
    time.sleep(0.01)
    saver = Autosaver(project, delay_s=0.0)
    a.add(Segment(1, 2, "Fine Crackle"))
    saver.notify_changed(rec, a)
    assert saver.tick() and [i.audio_path for i in project.pending_recovery()] == [rec]
    a.undo()
    saver.notify_changed(rec, a)
    assert saver.tick() == []                       # nothing written: the set is clean again
    assert project.pending_recovery() == [] and not project.autosave_path(rec).exists()
    reopened = project.load(rec)
    assert reopened.same_content(a) and not reopened.dirty

def test_kill_9_during_saves_leaves_old_or_new_file(tmp_path):
    """Hammer atomic saves in a child, SIGKILL it at random moments: the file is always whole."""
    target = tmp_path / "rec.clinaudio.json"
    script = textwrap.dedent(f"""
        import sys
        from clinaudio_gui.core import AnnotationSet, Segment, write_annotation_file
        segs = [Segment(i * 0.01, i * 0.01 + 0.005, "Wheeze", note="x" * 200) for i in range(3000)]
        big, small = AnnotationSet(segs, "CAS"), AnnotationSet([], "Normal")
        write_annotation_file({str(target)!r}, small)
        print("ready", flush=True)
        i = 0
        while True:
            write_annotation_file({str(target)!r}, big if i % 2 else small)
            i += 1
    """)
    valid_sizes = set()
    for trial in range(6):
        p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        time.sleep(0.05 + 0.07 * trial)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        a = read_annotation_file(target)  # raises if broken
        assert len(a) in (0, 3000)
        valid_sizes.add(len(a))
    leftovers = [f for f in tmp_path.iterdir() if f.name != target.name]
    # a temp file may remain from the killed write; it is never the target itself
    assert all(f.name.endswith(".tmp") for f in leftovers)
