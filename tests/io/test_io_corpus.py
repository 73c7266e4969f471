"""The format corpus (tests/data/format_corpus, provenance in its README): every file written by
another tool or a SPRSound release imports, rewrites in its own format and re-imports with the
same rows, in the library and through `clinaudio convert` without --from; every bad file gives
one line naming the file, the line or field and the problem (exit 2)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from clinaudio_gui.cli import main
from clinaudio_gui.io import dumps_annotations, guess_format, read_annotations
from clinaudio_gui.io.formats import CARRIES_BOX, CARRIES_RECORD_LABEL, TIME_RESOLUTION_S

CORPUS = Path(__file__).resolve().parents[1] / "data" / "format_corpus"
GOOD = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.parent.name != "bad" and p.name != "README.md")
BAD = sorted((CORPUS / "bad").iterdir())
SCRIPT = Path(sys.executable).parent / "clinaudio"
CMD = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "clinaudio_gui.cli"]
# real release files and files this project writes in their own shape: rewritten byte for byte
BYTE_IDENTICAL = {p for p in GOOD if p.parent.name == "icbhi"
                  or (p.parent.name == "sprsound" and p.name not in ("readme_example_recording_annotation.json",
                                                                      "wheeze_and_crackle_spelling.json"))
                  or p.name in ("steth_20190626_10_21_54_label.txt", "trunc_2019-07-03-15-33-44-L1_1_label.txt",
                                "steth_20191104_14_02_37_label.txt")}


def rel(p: Path) -> str:
    return p.relative_to(CORPUS).as_posix()


def rows(a, fmt: str) -> list:
    ms = fmt in TIME_RESOLUTION_S
    t = (lambda x: round(x * 1000)) if ms else (lambda x: x)
    return sorted(((t(s.start_s), t(s.end_s), s.label) + ((s.low_hz, s.high_hz) if fmt in CARRIES_BOX else ())
                   for s in a.segments), key=repr)


def test_the_corpus_covers_every_format():
    counts = {}
    for p in GOOD:
        counts[p.parent.name] = counts.get(p.parent.name, 0) + 1
    assert set(counts) == {"sprsound", "icbhi", "hflung", "audacity", "textgrid", "raven", "csv", "clinaudio"}
    assert counts["sprsound"] >= 10 and counts["textgrid"] >= 8 and counts["audacity"] >= 7
    assert len(GOOD) >= 50 and len(BAD) >= 8
    readme = (CORPUS / "README.md").read_text()
    for p in GOOD + BAD:                 # every file's provenance is listed
        assert p.name in readme or p.parent.name == "hflung", p


@pytest.mark.parametrize("path", GOOD, ids=rel)
def test_corpus_file_imports_rewrites_and_reimports(tmp_path, path):
    fmt, why = guess_format(path)
    assert fmt == path.parent.name, (fmt, why)          # recognised from the content (or name)
    a = read_annotations(path)
    text = dumps_annotations(a, fmt)
    out = tmp_path / path.name
    out.write_bytes(text.encode("utf-8"))
    assert guess_format(out)[0] == fmt
    b = read_annotations(out)
    assert rows(b, fmt) == rows(a, fmt)
    if fmt in CARRIES_RECORD_LABEL:
        assert b.record_label == a.record_label
    assert b.metadata.get("unmatched_labels") == a.metadata.get("unmatched_labels")
    if path in BYTE_IDENTICAL:
        assert text.encode("utf-8") == path.read_bytes()


@pytest.mark.parametrize("path", GOOD, ids=rel)
def test_corpus_file_through_clinaudio_convert(tmp_path, path, capsys):
    fmt = path.parent.name
    out = tmp_path / path.name
    assert main(["convert", str(path), str(out), "--to", fmt]) == 0
    err = capsys.readouterr().err
    assert f"read as {fmt} (recognised from" in err, err          # names what it chose
    assert rows(read_annotations(out), fmt) == rows(read_annotations(path), fmt)


@pytest.mark.parametrize("name, where, words", [
    ("sprsound_bad_time.json", " [event_annotation[0].start]", "'12x'"),
    ("sprsound_syntax.json", ":3", "invalid JSON"),
    ("hflung_bad_time_label.txt", ":3 [end]", "'00:00:xx' is not a time"),
    ("hflung_end_before_start_label.txt", ":1", "before start"),
    ("audacity_end_before_start.txt", ":2", "before start"),
    ("icbhi_bad_flag.txt", ":2 [wheeze]", "flag must be 0 or 1"),
    ("textgrid_unterminated.TextGrid", ":11", "unterminated string"),
    ("raven_bad_time.selections.txt", ":2 [End Time (s)]", "'abc'"),
])
def test_bad_corpus_file_is_one_line_naming_file_line_and_problem(tmp_path, name, where, words):
    src = CORPUS / "bad" / name
    r = subprocess.run(CMD + ["convert", str(src), str(tmp_path / "out.csv")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"{src}{where}" in lines[0] and words in lines[0], lines[0]
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("path", ["sprsound/40527873_9.2_1_p1_4947.json", "audacity/aligned_with_spaces.txt",
                                  "textgrid/p2fa_short_header.TextGrid", "hflung/steth_20190815_09_44_12_label.txt"])
def test_the_kinds_that_failed_before_through_the_installed_command(tmp_path, path):
    """The three kinds issue 16 found refused (2024/2025 JSON, space-aligned Audacity, a TextGrid
    Praat reads) and HF_Lung, run as a user runs them."""
    src = CORPUS / path
    fmt = src.parent.name
    out = tmp_path / src.name
    r = subprocess.run(CMD + ["convert", str(src), str(out), "--to", fmt], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"read as {fmt}" in r.stderr and f"({fmt}) ->" in r.stdout
    assert rows(read_annotations(out), fmt) == rows(read_annotations(src), fmt)
    if fmt == "sprsound":          # the 2024 shape is kept: no record key, 4-space indent
        assert out.read_bytes() == src.read_bytes()


def test_convert_label_options_and_one_warning_line(tmp_path, capsys):
    src = tmp_path / "mixed.txt"
    src.write_text("0.5\t1.0\twheeze\n1.0\t2.0\tcough\n2.0\t3.0\tsquawk\n3.0\t4.0\tcrackle\n")
    out = tmp_path / "o.csv"
    assert main(["convert", str(src), str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [ln for ln in err if "warning" in ln] == [
        f"clinaudio: warning: {src}: 2 label(s) match nothing in sprsound-events and are kept as they are: "
        "'cough', 'squawk'"]
    assert any("crackle -> DAS" in ln and "wheeze -> Wheeze" in ln for ln in err)
    assert [s.label for s in read_annotations(out, schema=None).sorted_segments()] == ["Wheeze", "cough", "squawk",
                                                                                        "DAS"]
    assert main(["convert", str(src), str(out), "--keep-labels"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert [s.label for s in read_annotations(out, schema=None).sorted_segments()] == ["wheeze", "cough", "squawk",
                                                                                        "crackle"]
    assert main(["convert", str(src), str(out), "--schema", "icbhi-cycles"]) == 0
    capsys.readouterr()
    assert [s.label for s in read_annotations(out, schema=None).sorted_segments()] == ["wheeze", "cough", "squawk",
                                                                                        "crackle"]
    assert main(["convert", str(src), str(out), "--schema", "no-such-schema"]) == 2
    assert "no-such-schema" in capsys.readouterr().err
