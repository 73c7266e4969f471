"""`clinaudio info / convert / stats` run as a user runs them: the installed console script."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

SCRIPT = Path(sys.executable).parent / "clinaudio"
CMD = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "clinaudio_gui.cli"]
EXAMPLE_STEM = "40638274_9.7_1_p2_1801"


def run(*args, ok=True):
    r = subprocess.run(CMD + [str(a) for a in args], capture_output=True, text=True, timeout=120)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def assert_one_line_error(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    for n in needles:
        assert str(n) in lines[0], (n, lines[0])


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# ------------------------------------------------------------------ info
def test_info_json_matches_the_file(sprsound_dir):
    f = sprsound_dir / f"{EXAMPLE_STEM}.flac"
    d = json.loads(run("info", f, "--json").stdout)
    i = sf.info(str(f))
    assert d["sample_rate_hz"] == i.samplerate == 8000
    assert d["channels"] == i.channels and d["frames"] == i.frames
    assert d["format"] == "flac" and abs(d["duration_s"] - i.frames / i.samplerate) < 1e-6
    text = run("info", f).stdout
    assert "sample_rate_hz  8000" in text and "format          flac" in text


def test_info_errors(tmp_path, icbhi_dir):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.flac"
    junk.write_bytes(b"not audio at all\n" * 50)
    wav = icbhi_dir / "101_1b1_Al_sc_Meditron.wav"
    cut = tmp_path / "cut.wav"
    cut.write_bytes(wav.read_bytes()[: wav.stat().st_size // 3])
    for path, problem in ((tmp_path / "missing.wav", "not found"), (empty, "empty"), (junk, "corrupt"),
                          (cut, "truncated"), (icbhi_dir / "patient_diagnosis.csv", "unsupported")):
        assert_one_line_error(run("info", path, ok=False), path, problem)


# ------------------------------------------------------------------ convert
def test_convert_sprsound_textgrid_and_back(tmp_path, sprsound_dir):
    src = sprsound_dir / f"{EXAMPLE_STEM}.json"
    audio = sprsound_dir / f"{EXAMPLE_STEM}.flac"
    tg = tmp_path / "a.TextGrid"
    r = run("convert", src, tg, "--audio", audio)
    assert "(sprsound)" in r.stdout and "(textgrid)" in r.stdout
    duration_s = sf.info(str(audio)).frames / 8000
    assert f"xmax = {duration_s:g}" in tg.read_text()
    back = tmp_path / "back.json"
    run("convert", tg, back)
    orig = json.loads(src.read_text())
    new = json.loads(back.read_text())
    assert new["record_annotation"] == orig["record_annotation"]
    key = lambda e: (int(e["start"]), int(e["end"]))
    assert sorted(new["event_annotation"], key=key) == sorted(orig["event_annotation"], key=key)


@pytest.mark.parametrize("mid, flags", [("x.csv", []), ("x.txt", ["--to", "audacity"]),
                                        ("x.selections.txt", []), ("x.clinaudio.json", [])])
def test_convert_icbhi_through_formats_is_byte_identical(tmp_path, icbhi_dir, mid, flags):
    src = icbhi_dir / "103_2b2_Ar_mc_LittC2SE.txt"
    run("convert", src, tmp_path / mid, *flags)
    out = tmp_path / "back.txt"
    run("convert", tmp_path / mid, out, "--to", "icbhi")
    assert out.read_bytes() == src.read_bytes()


def test_convert_to_icbhi_maps_sprsound_classes_and_notes_it(tmp_path, sprsound_dir):
    src = next(p for p in sorted(sprsound_dir.glob("*.json")) if "Fine Crackle" in p.read_text())
    out = tmp_path / "c.txt"
    r = run("convert", src, out, "--to", "icbhi")
    assert "Fine Crackle -> crackle" in r.stderr and "note" in r.stderr
    assert any(line.endswith("\t1\t0") for line in out.read_text().splitlines())


def test_failed_convert_leaves_no_output_and_the_input_untouched(tmp_path, icbhi_dir):
    bad = tmp_path / "bad.txt"
    shutil.copy(icbhi_dir / "101_1b1_Al_sc_Meditron.txt", bad)
    with bad.open("a") as f:
        f.write("20.1\t21.5\t0\t7\n")
    before = digest(bad)
    out = tmp_path / "out.TextGrid"
    assert_one_line_error(run("convert", bad, out, "--from", "icbhi", ok=False), bad, ":13", "wheeze flag")
    assert not out.exists() and digest(bad) == before
    # a label that ICBHI cannot hold: refused, nothing written, an existing OUT kept as it was
    csv = tmp_path / "c.csv"
    csv.write_text("start_s,end_s,label\n0,1,cough\n")
    old = tmp_path / "old.txt"
    old.write_text("keep me\n")
    assert_one_line_error(run("convert", csv, old, "--to", "icbhi", ok=False), old, "'cough'")
    assert old.read_text() == "keep me\n"
    # ambiguous output extension, unknown format, missing input, corrupt --audio
    assert_one_line_error(run("convert", csv, tmp_path / "o.txt", ok=False), "o.txt", "give the format explicitly")
    assert_one_line_error(run("convert", tmp_path / "nope.json", tmp_path / "o.csv", ok=False), "nope.json",
                          "not found")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"xx" * 100)
    assert_one_line_error(run("convert", csv, tmp_path / "o.TextGrid", "--audio", junk, ok=False), junk)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "c.csv", "junk.wav", "old.txt"]
    r = run("convert", csv, tmp_path / "o.csv", "--to", "mp4", ok=False)
    assert r.returncode == 2 and "invalid choice" in r.stderr


# ------------------------------------------------------------------ stats
def test_stats_sprsound_train_matches_the_data_readme(sprsound_dir):
    t0 = time.perf_counter()
    d = json.loads(run("stats", sprsound_dir, "--json").stdout)
    wall_s = time.perf_counter() - t0
    assert d["recordings"] == 1949 and d["patients"] == 251 and d["labeled"] == 1949
    assert d["record_labels"] == {"Normal": 1303, "DAS": 248, "Poor Quality": 177, "CAS": 126, "CAS & DAS": 95}
    assert d["event_labels"] == {"Normal": 5159, "Fine Crackle": 912, "Wheeze": 452, "Coarse Crackle": 49,
                                 "Rhonchi": 39, "Wheeze+Crackle": 30, "Stridor": 15}
    assert d["events"] == 6656
    total_s = sum(sf.info(str(p)).frames for p in sprsound_dir.glob("*.flac")) / 8000
    assert abs(d["duration_s"] - total_s) < 0.01
    assert wall_s < 20, f"stats took {wall_s:.1f} s"   # ~2 s here; generous for a loaded CI machine


def test_stats_icbhi_and_text_output(icbhi_dir):
    d = json.loads(run("stats", icbhi_dir, "--json").stdout)
    assert (d["recordings"], d["patients"]) == (10, 4)
    n_cycles = sum(len([ln for ln in p.read_text().splitlines() if ln.strip()])
                   for p in icbhi_dir.glob("*_*_*_*.txt"))
    assert d["events"] == n_cycles and set(d["event_labels"]) <= {"normal", "crackle", "wheeze", "both"}
    assert d["patient_diagnoses"] == {"Asthma": 1, "COPD": 1, "Healthy": 1, "URTI": 1}
    text = run("stats", icbhi_dir).stdout
    assert text.splitlines()[0].startswith(f"{icbhi_dir}: 10 recordings (10 labeled), 4 patients")


def test_stats_errors(tmp_path):
    assert_one_line_error(run("stats", tmp_path / "nope", ok=False), "nope", "not found")
    (tmp_path / "40069321_15.3_0_p1_981.wav").write_bytes(b"")   # an empty recording
    assert_one_line_error(run("stats", tmp_path, ok=False), "40069321_15.3_0_p1_981.wav", "empty")
