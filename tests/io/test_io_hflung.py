"""HF_Lung label files: reading (tolerant), writing (types mapped back), properties and fuzzing."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinaudio_gui.core import AnnotationFormatError, AnnotationSet, Segment
from clinaudio_gui.io import dumps_annotations, read_annotations, write_annotations
from clinaudio_gui.io.hflung import TYPES, dumps_hflung, fmt_time, hflung_mapping, parse_hflung
from clinaudio_gui.io.labelmap import map_to_schema

FILE = "I 00:00:00.521 00:00:01.904\nE 00:00:01.904 00:00:03.410\nD 00:00:04.020 00:00:04.610\n" \
       "C 00:00:05.000 00:00:06.250\nWheeze 00:00:07.000 00:00:08.125\nStridor 00:00:09.000 00:00:09.500\n" \
       "Rhonchi 00:00:10.000 00:00:11.000\n"


def test_reads_every_type_with_times_in_seconds():
    a = parse_hflung(FILE)
    assert [(s.label, s.start_s, s.end_s) for s in a.segments] == [
        ("I", 0.521, 1.904), ("E", 1.904, 3.41), ("D", 4.02, 4.61), ("C", 5.0, 6.25), ("Wheeze", 7.0, 8.125),
        ("Stridor", 9.0, 9.5), ("Rhonchi", 10.0, 11.0)]
    assert a.record_label is None and a.metadata["source_format"] == "hflung"


def test_maps_onto_sprsound_classes_and_breath_phases(tmp_path):
    p = tmp_path / "steth_20190626_10_21_54_label.txt"
    p.write_text(FILE)
    a = read_annotations(p)
    assert [s.label for s in a.segments] == ["Inhalation", "Exhalation", "DAS", "CAS", "Wheeze", "Stridor", "Rhonchi"]
    assert "unmatched_labels" not in a.metadata
    assert a.metadata["label_map"] == {"C": "CAS", "D": "DAS", "E": "Exhalation", "I": "Inhalation"}
    # under the ICBHI schema the same file gives ICBHI classes; the phases stay breath phases
    b = read_annotations(p, schema="icbhi-cycles")
    assert [s.label for s in b.segments] == ["Inhalation", "Exhalation", "crackle", "wheeze", "wheeze", "wheeze",
                                             "wheeze"]
    # and written back it is the same file, byte for byte
    out = tmp_path / "back_label.txt"
    write_annotations(out, a)
    assert out.read_text() == FILE


def test_tolerant_whitespace_crlf_blank_lines_and_no_milliseconds():
    a = parse_hflung("I\t0:00:01 00:00:02.5\r\n\r\n  D   00:00:03.100\t\t00:00:03.900  \r\n")
    assert [(s.label, s.start_s, s.end_s) for s in a.segments] == [("I", 1.0, 2.5), ("D", 3.1, 3.9)]


@pytest.mark.parametrize("text, line, field, words", [
    ("I 00:00:01.000\n", 1, None, "expected 3 columns"),
    ("I 00:00:01.000 00:00:02.000\nD 00:00:1,5 00:00:02.000\n", 2, "start", "not a time"),
    ("I 00:00:01.000 00:61:02.000\n", 1, "end", "below 60"),
    ("E 00:00:03.000 00:00:02.000\n", 1, None, "before start"),
    ("I 00:00:01.000 00:00:02.000 extra\n", 1, None, "expected 3 columns"),
])
def test_errors_name_line_and_field(text, line, field, words):
    with pytest.raises(AnnotationFormatError) as e:
        parse_hflung(text, "x_label.txt")
    assert (e.value.line, e.value.field) == (line, field) and words in e.value.problem


def test_writing_maps_labels_back_and_leaves_out_normal():
    a = AnnotationSet([Segment(0, 1, "Inhalation"), Segment(1, 2, "Fine Crackle"), Segment(2, 3, "Normal"),
                       Segment(3, 4, "Wheeze+Crackle"), Segment(4, 5, "cough"), Segment(5, 6, "CAS")])
    assert dumps_hflung(a) == ("I 00:00:00.000 00:00:01.000\nD 00:00:01.000 00:00:02.000\n"
                               "Wheeze 00:00:03.000 00:00:04.000\nD 00:00:03.000 00:00:04.000\n"
                               "cough 00:00:04.000 00:00:05.000\nC 00:00:05.000 00:00:06.000\n")
    mapped, dropped = hflung_mapping(a)
    assert mapped == {"Inhalation": "I", "Fine Crackle": "D", "Wheeze+Crackle": "Wheeze + D", "CAS": "C"}
    assert dropped == 1
    with pytest.raises(AnnotationFormatError, match="has no HF_Lung type"):
        dumps_hflung(AnnotationSet([Segment(0, 1, "dry cough")]))


def test_times_over_an_hour():
    assert fmt_time(3723.0456) == "01:02:03.046"
    assert parse_hflung("I 01:02:03.046 01:02:04.000\n").segments[0].start_s == pytest.approx(3723.046)


# ------------------------------------------------------------------ properties
TYPE = st.sampled_from(TYPES) | st.text(st.sampled_from("abXY_-+é0"), min_size=1, max_size=8)
MS = st.integers(0, 2 * 3600 * 1000)


@st.composite
def hflung_sets(draw):
    segs = []
    for _ in range(draw(st.integers(0, 15))):
        a, b = sorted((draw(MS), draw(MS)))
        segs.append(Segment(a / 1000, b / 1000, draw(TYPE)))
    return AnnotationSet(segs)


@settings(max_examples=80, deadline=None)
@given(a=hflung_sets())
def test_any_hflung_set_round_trips_to_the_millisecond(a):
    b = parse_hflung(dumps_annotations(a, "hflung"))
    view = lambda x: sorted((round(s.start_s * 1000), round(s.end_s * 1000), s.label) for s in x.segments)
    assert view(b) == view(a)


@settings(max_examples=80, deadline=None)
@given(a=hflung_sets())
def test_mapping_then_writing_gives_the_file_back(a):
    text = dumps_annotations(a, "hflung")
    mapped = map_to_schema(parse_hflung(text), "sprsound-events")
    assert dumps_annotations(mapped, "hflung") == text


# ------------------------------------------------------------------ fuzz
SPECIAL = " \t\r\n:.0123456789IEDCWheezStridorRhonchi"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(st.sampled_from(SPECIAL), max_size=120) | st.text(max_size=80))
def test_fuzz_parse_hflung_returns_or_raises_ours(text):
    try:
        a = parse_hflung(text, "f_label.txt")
    except AnnotationFormatError as e:
        assert e.path == "f_label.txt" and e.problem
    else:
        assert all(s.end_s >= s.start_s >= 0 for s in a.segments)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_fuzz_mutated_valid_file(data):
    chars = list(FILE)
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(chars) - 1))
        chars[i] = data.draw(st.sampled_from(SPECIAL + "x\x00é"))
    try:
        parse_hflung("".join(chars), "f_label.txt")
    except AnnotationFormatError as e:
        assert e.line is not None
