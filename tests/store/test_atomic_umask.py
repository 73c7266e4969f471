"""Files written atomically (sidecars, exports) respect the umask, so a lab's shared folder is
readable by the group; a file that is replaced keeps its mode."""
import os
import stat

import pytest

from clinaudio_gui.core.atomic import atomic_write_text


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_files_follow_the_umask(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        p = tmp_path / "rec.clinaudio.json"
        atomic_write_text(p, "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == expected
    assert p.read_text() == "{}"


def test_a_replaced_file_keeps_its_mode(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a")
    p.chmod(0o640)
    atomic_write_text(p, "b")
    assert stat.S_IMODE(p.stat().st_mode) == 0o640 and p.read_text() == "b"


def test_project_export_is_group_readable(tmp_path, media):
    from clinaudio_gui.store import ProjectStore
    from clinaudio_gui.store.exchange import export_sets, import_folder
    from clinaudio_gui.store.media import scan_audio
    old = os.umask(0o002)
    try:
        st = ProjectStore.init(tmp_path / "p.db", actor="lead")
        st.add_person("alice", "annotator")
        st.register_recordings(scan_audio(media, media))
        import_folder(st, media, "sprsound", "alice")
        export_sets(st, tmp_path / "out", "sprsound", "alice")
    finally:
        os.umask(old)
    modes = {stat.S_IMODE(f.stat().st_mode) for f in (tmp_path / "out").iterdir()}
    assert modes == {0o664}
