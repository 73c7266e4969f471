"""Round trip of EVERY real annotation file through the model and each format that can hold it.

SPRSound (1,949 JSON files): every format except ICBHI (whose four classes cannot hold SPRSound
labels) must give back every segment to the millisecond with its label, and the record label
where the format carries one; going X -> Y -> X must give the original SPRSound JSON back.
ICBHI (10 txt files): every format; times exact (SPRSound: to the ms, its resolution), and the
ICBHI text written back is byte-identical to the original file.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinaudio_gui.io import (ALL_FORMATS, CARRIES_RECORD_LABEL, dumps_annotations, read_annotations,
                              write_annotations)
from clinaudio_gui.io.formats import TIME_RESOLUTION_S
from clinaudio_gui.io.icbhi import parse_icbhi
from clinaudio_gui.io.native import parse_native
from clinaudio_gui.io.sprsound import dumps_sprsound, parse_sprsound, sprsound_dict
from clinaudio_gui.io.formats import _TEXT_PARSERS


def parse_any(text: str, fmt: str):
    if fmt == "sprsound":
        return parse_sprsound(json.loads(text))
    if fmt == "clinaudio":
        return parse_native(json.loads(text))
    return _TEXT_PARSERS[fmt](text)


def ms_view(a):
    return [(round(s.start_s * 1000), round(s.end_s * 1000), s.label) for s in a.sorted_segments()]


def exact_view(a):
    return [(s.start_s, s.end_s, s.label) for s in a.sorted_segments()]


def original_sprsound(path: Path) -> dict:
    d = json.loads(path.read_text())
    return {"record_annotation": d["record_annotation"],
            "event_annotation": sorted(({"start": str(int(e["start"])), "end": str(int(e["end"])),
                                         "type": e["type"]} for e in d["event_annotation"]),
                                       key=lambda e: (int(e["start"]), int(e["end"])))}


def test_every_sprsound_json_round_trips(sprsound_dir):
    files = sorted(sprsound_dir.glob("*.json"))
    assert len(files) == 1949
    targets = [f for f in ALL_FORMATS if f not in ("icbhi", "hflung")]   # fixed vocabularies: tested apart
    n_events = 0
    for f in files:
        a = read_annotations(f)
        orig = original_sprsound(f)
        assert dumps_sprsound(a) == f.read_text(), f   # written back in the release's shape, byte for byte
        d = sprsound_dict(a)                           # (event order too: a few files list events unsorted)
        d["event_annotation"].sort(key=lambda e: (int(e["start"]), int(e["end"])))
        assert d == orig, f
        n_events += len(a)
        for fmt in targets:
            b = parse_any(dumps_annotations(a, fmt), fmt)
            assert ms_view(b) == ms_view(a), (f, fmt)
            if fmt in CARRIES_RECORD_LABEL:
                assert b.record_label == a.record_label, (f, fmt)
            # X -> Y -> X: back to the original SPRSound JSON
            back = sprsound_dict(b)
            back["event_annotation"].sort(key=lambda e: (int(e["start"]), int(e["end"])))
            back.setdefault("record_annotation", orig["record_annotation"])
            if fmt not in CARRIES_RECORD_LABEL:
                back["record_annotation"] = orig["record_annotation"]
            assert back == orig, (f, fmt)
    assert n_events == 6656


def test_every_icbhi_txt_round_trips(icbhi_dir):
    files = sorted(p for p in icbhi_dir.glob("*_*_*_*.txt"))
    assert len(files) == 10
    for f in files:
        a = read_annotations(f, schema=None)     # the file's own labels (mapping: test_io_labelmap)
        assert a.metadata["source_format"] == "icbhi"
        assert len(a) > 0
        assert dumps_annotations(a, "icbhi") == f.read_text(), f   # byte-identical
        for fmt in ALL_FORMATS:
            if fmt == "hflung":     # has no "Normal" (an unlabelled stretch is normal): tested in test_io_hflung
                continue
            b = parse_any(dumps_annotations(a, fmt), fmt)
            if fmt in TIME_RESOLUTION_S:
                assert ms_view(b) == ms_view(a), (f, fmt)
            else:
                assert exact_view(b) == exact_view(a), (f, fmt)
            if fmt != "sprsound":   # SPRSound stores ms: the ICBHI text would differ below 1 ms
                assert dumps_annotations(b, "icbhi") == f.read_text(), (f, fmt)


def test_files_on_disk_round_trip_with_extension_detection(tmp_path, sprsound_dir, icbhi_dir):
    """Through real files, letting the extension / content choose the format."""
    spr_empty = sprsound_dir / "40069321_15.3_0_p3_983.json"      # Poor Quality, no events
    spr = sprsound_dir / "40638274_9.7_1_p2_1801.json"
    icb = icbhi_dir / "103_2b2_Ar_mc_LittC2SE.txt"
    assert len(read_annotations(spr_empty)) == 0 and len(read_annotations(spr)) > 0
    for src in (spr_empty, spr, icb):
        a = read_annotations(src)
        for name, fmt in (("x.json", "sprsound"), ("x.TextGrid", "textgrid"), ("x.csv", "csv"),
                          ("x.selections.txt", "raven"), ("x.clinaudio.json", "clinaudio"),
                          ("x_aud.txt", "audacity"), ("x_icbhi.txt", "icbhi")):
            if fmt == "icbhi" and src != icb:
                continue
            out = tmp_path / name
            write_annotations(out, a, None if not name.startswith("x_") else fmt)
            b = read_annotations(out)
            assert b.metadata.get("source_format", "clinaudio") in (fmt, a.metadata["source_format"]), (src, name)
            assert ms_view(b) == ms_view(a), (src, name)
            out.unlink()
