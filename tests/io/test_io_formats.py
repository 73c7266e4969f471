"""Each annotation format on hand-written files in the forms the real tools write."""
from __future__ import annotations

import json

import pytest

from clinaudio_gui.core import AnnotationFormatError, AnnotationSet, Segment
from clinaudio_gui.io import (detect_format, dumps_annotations, find_annotation_for, read_annotations,
                              write_annotations)
from clinaudio_gui.io.audacity import parse_audacity
from clinaudio_gui.io.csvfmt import parse_csv
from clinaudio_gui.io.icbhi import parse_icbhi
from clinaudio_gui.io.raven import parse_raven
from clinaudio_gui.io.sprsound import parse_sprsound
from clinaudio_gui.io.textgrid import parse_textgrid


def view(a):
    return [(s.start_s, s.end_s, s.label) for s in a.sorted_segments()]


# ---------------------------------------------------------------- SPRSound
def test_sprsound_variants_are_accepted():
    a = parse_sprsound({"recording_annotation": "CAS & DAS",
                        "event_annotation": [{"start": 1200, "end": "2500.5", "type": "Wheeze & Crackle"},
                                             {"start": "0", "end": 100.0, "type": "Normal"}]})
    assert a.record_label == "CAS & DAS"
    assert view(a) == [(0.0, 0.1, "Normal"), (1.2, 2.5005, "Wheeze+Crackle")]


@pytest.mark.parametrize("doc, field", [
    ({"event_annotation": [], "record_annotation": 3}, "record_annotation"),   # a record label is optional, but a string
    ({"record_annotation": "Normal", "event_annotation": "none"}, "event_annotation"),
    ({"record_annotation": "Normal", "event_annotation": [{"start": "5", "end": "1", "type": "Normal"}]},
     "event_annotation[0]"),
    ({"record_annotation": "Normal", "event_annotation": [{"start": "x", "end": "1", "type": "Normal"}]},
     "event_annotation[0].start"),
    ({"record_annotation": "Normal", "event_annotation": [{"start": 1e400, "end": "1", "type": "N"}]},
     "event_annotation[0].start"),
    ({"record_annotation": "Normal", "event_annotation": [{"start": "1", "end": "2"}]}, "event_annotation[0]"),
])
def test_sprsound_errors_name_the_field(tmp_path, doc, field):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc).replace("Infinity", "1e400"))
    with pytest.raises(AnnotationFormatError) as e:
        read_annotations(p)
    assert e.value.field == field and str(p) in str(e.value)


def test_json_syntax_error_names_the_line(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"record_annotation": "Normal",\n "event_annotation": [\n {"start": }]}')
    with pytest.raises(AnnotationFormatError) as e:
        read_annotations(p)
    assert e.value.line == 3


# ---------------------------------------------------------------- ICBHI
def test_icbhi_flags_and_mapping(tmp_path):
    a = parse_icbhi("0.1\t1.5\t0\t0\n1.5\t2\t1\t0\r\n2 3.25 0 1\n\n3.25\t4\t1\t1\n")
    assert [s.label for s in a.segments] == ["normal", "crackle", "wheeze", "both"]
    b = AnnotationSet([Segment(0, 1, "Fine Crackle"), Segment(1, 2, "Rhonchi"), Segment(2, 3, "Wheeze+Crackle")])
    assert dumps_annotations(b, "icbhi") == "0\t1\t1\t0\n1\t2\t0\t1\n2\t3\t1\t1\n"
    with pytest.raises(AnnotationFormatError, match="'cough' has no ICBHI meaning"):
        write_annotations(tmp_path / "x.txt", AnnotationSet([Segment(0, 1, "cough")]), "icbhi")
    assert not (tmp_path / "x.txt").exists()


@pytest.mark.parametrize("text, line", [("0.1\t1\t0\t0\n1\t2\t2\t0\n", 2), ("0\t1\t0\n", 1),
                                        ("0\t1\t0\t0\n\n2\t1\t0\t0\n", 3), ("a\t1\t0\t0\n", 1)])
def test_icbhi_errors_name_the_line(text, line):
    with pytest.raises(AnnotationFormatError) as e:
        parse_icbhi(text, "f.txt")
    assert e.value.line == line and "f.txt" in str(e.value)


# ---------------------------------------------------------------- Audacity
def test_audacity_spectral_selection_lines():
    text = ("1.000000\t2.500000\tWheeze\n\\\t100.000000\t800.000000\n"
            "3.000000\t3.000000\tclick\n"
            "4.000000\t5.000000\tlabel with spaces\n\\\t-1.000000\t2000.000000\n"
            "6\t7\t\n\\\t50\t-1\n")
    a = parse_audacity(text)
    s = a.sorted_segments()
    assert (s[0].label, s[0].low_hz, s[0].high_hz) == ("Wheeze", 100.0, 800.0)
    assert s[1].start_s == s[1].end_s == 3.0 and not s[1].is_box
    assert (s[2].label, s[2].low_hz, s[2].high_hz) == ("label with spaces", 0.0, 2000.0)  # undefined low -> 0
    assert s[3].label == "" and not s[3].is_box                                        # undefined high -> no box
    back = parse_audacity(dumps_annotations(a, "audacity"))
    assert [(x.start_s, x.end_s, x.label, x.low_hz, x.high_hz) for x in back.sorted_segments()] == \
           [(x.start_s, x.end_s, x.label, x.low_hz, x.high_hz) for x in s]


def test_audacity_decimal_comma_of_some_locales():
    a = parse_audacity("1,500000\t2,250000\tWheeze\n\\\t100,5\t800\n")
    s = a.segments[0]
    assert (s.start_s, s.end_s, s.low_hz, s.high_hz) == (1.5, 2.25, 100.5, 800.0)


def test_audacity_orphan_spectral_line_is_an_error():
    with pytest.raises(AnnotationFormatError) as e:
        parse_audacity("\\\t1\t2\n", "a.txt")
    assert e.value.line == 1


# ---------------------------------------------------------------- TextGrid
LONG = '''File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0 
xmax = 2.3 
tiers? <exists> 
size = 3 
item []: 
    item [1]:
        class = "IntervalTier" 
        name = "events" 
        xmin = 0 
        xmax = 2.3 
        intervals: size = 3 
        intervals [1]:
            xmin = 0 
            xmax = 0.7 
            text = "" 
        intervals [2]:
            xmin = 0.7 
            xmax = 1.5 
            text = "say ""hi""
on two lines" 
        intervals [3]:
            xmin = 1.5 
            xmax = 2.3 
            text = "Fine Crackle" 
    item [2]:
        class = "TextTier" 
        name = "bell" 
        xmin = 0 
        xmax = 2.3 
        points: size = 1 
        points [1]:
            number = 0.9 
            mark = "ding" 
    item [3]:
        class = "IntervalTier" 
        name = "record" 
        xmin = 0 
        xmax = 2.3 
        intervals: size = 1 
        intervals [1]:
            xmin = 0 
            xmax = 2.3 
            text = "DAS" 
'''

SHORT = '''File type = "ooTextFile"
Object class = "TextGrid"

0
2.3
<exists>
2
"IntervalTier"
"events"
0
2.3
3
0
0.7
""
0.7
1.5
"say ""hi""
on two lines"
1.5
2.3
"Fine Crackle"
"IntervalTier"
"record"
0
2.3
1
0
2.3
"DAS"
'''


def test_textgrid_long_and_short_forms_read_the_same():
    a, b = parse_textgrid(LONG), parse_textgrid(SHORT)
    # the long form's point tier (a TextTier) gives a zero-length segment, as every point tier does
    assert view(a) == [(0.7, 1.5, 'say "hi"\non two lines'), (0.9, 0.9, "ding"), (1.5, 2.3, "Fine Crackle")]
    assert view(b) == [(0.7, 1.5, 'say "hi"\non two lines'), (1.5, 2.3, "Fine Crackle")]
    assert a.record_label == b.record_label == "DAS"
    assert a.metadata["duration_s"] == 2.3


def test_textgrid_write_record_tier_overlaps_points_and_xmax(tmp_path):
    a = AnnotationSet([Segment(1.0, 3.0, "Wheeze"), Segment(2.0, 4.0, "Fine Crackle"), Segment(5, 5, "click"),
                       Segment(0.25, 0.5, 'q"uote')], "CAS & DAS")
    p = tmp_path / "x.TextGrid"
    write_annotations(p, a, audio_duration_s=12.5)
    text = p.read_text()
    assert "xmax = 12.5" in text and 'name = "events 2"' in text and 'name = "record"' in text
    b = read_annotations(p)
    assert view(b) == view(a) and b.record_label == "CAS & DAS"
    # without the audio the last segment end bounds the grid
    assert "xmax = 5\n" in dumps_annotations(a, "textgrid")


def test_textgrid_utf16_as_praat_writes_it(tmp_path):
    p = tmp_path / "u.TextGrid"
    p.write_bytes(SHORT.replace("Fine Crackle", "Rasselgeräusch").encode("utf-16"))
    assert read_annotations(p).sorted_segments()[1].label == "Rasselgeräusch"


@pytest.mark.parametrize("cut", [10, 60, 200, len(SHORT) - 8])
def test_textgrid_truncated_is_an_error(cut):
    with pytest.raises(AnnotationFormatError):
        parse_textgrid(SHORT[:cut], "t.TextGrid")


# ---------------------------------------------------------------- Raven
RAVEN = ("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tDelta Time (s)\t"
         "Annotation\n"
         "1\tWaveform 1\t1\t0.512\t1.25\t0\t4000\t0.738\tWheeze\n"
         "1\tSpectrogram 1\t1\t0.512\t1.25\t100.5\t900\t0.738\tWheeze\n"
         "2\tSpectrogram 1\t1\t2\t3.5\t0\t0\t1.5\tCoarse Crackle\n")


def test_raven_views_are_one_selection_and_boxes_survive(tmp_path):
    a = parse_raven(RAVEN)
    s = a.sorted_segments()
    assert view(a) == [(0.512, 1.25, "Wheeze"), (2.0, 3.5, "Coarse Crackle")]
    assert (s[0].low_hz, s[0].high_hz) == (100.5, 900.0) and not s[1].is_box   # the spectrogram row's box
    waveform_only = parse_raven("\n".join(RAVEN.splitlines()[:2]))
    assert (waveform_only.segments[0].low_hz, waveform_only.segments[0].high_hz) == (0.0, 4000.0)
    p = tmp_path / "r.Table.1.selections.txt"
    write_annotations(p, a)
    assert p.read_text().splitlines()[0].startswith("Selection\tView\tChannel\tBegin Time (s)")
    b = read_annotations(p)
    assert [(x.start_s, x.end_s, x.label, x.low_hz, x.high_hz) for x in b.sorted_segments()] == \
           [(x.start_s, x.end_s, x.label, x.low_hz, x.high_hz) for x in s]


def test_raven_bad_row():
    with pytest.raises(AnnotationFormatError) as e:
        parse_raven(RAVEN + "3\tSpectrogram 1\t1\t9\tx\t0\t0\t0\tA\n", "r.txt")
    assert e.value.line == 5 and e.value.field == "End Time (s)"


# ---------------------------------------------------------------- CSV
def test_csv_keeps_every_field_and_the_record_label(tmp_path):
    a = AnnotationSet([Segment(0.5, 1.25, "Wheeze", 100.0, 900.0, annotator="dr, a", source="model",
                               confidence=0.875, note='multi\nline "note"'),
                       Segment(2, 3, "Normal")], "CAS")
    p = tmp_path / "a.csv"
    write_annotations(p, a)
    b = read_annotations(p)
    strip = [{k: v for k, v in s.to_dict().items() if k != "id"} for s in a.sorted_segments()]
    assert [{k: v for k, v in s.to_dict().items() if k != "id"} for s in b.sorted_segments()] == strip
    assert b.record_label == "CAS"
    empty = AnnotationSet([], "Poor Quality")
    write_annotations(p, empty)
    c = read_annotations(p)
    assert len(c) == 0 and c.record_label == "Poor Quality"


def test_csv_aliases_any_order_and_errors():
    a = parse_csv("label,end,start\nWheeze,2,1\n")
    assert view(a) == [(1.0, 2.0, "Wheeze")]
    for text, line, field in [("start_s,end_s\n1,2\n", 1, "label"),
                              ("start_s,end_s,label,record_label\n1,2,a,CAS\n2,3,b,DAS\n", 3, "record_label"),
                              ("start_s,end_s,label,source\n1,2,a,robot\n", 2, "source"),
                              ("start_s,end_s,label,low_hz\n1,2,a,5\n", 2, "high_hz"),
                              ("start_s,end_s,label,confidence\n1,2,a,1.5\n", 2, "confidence")]:
        with pytest.raises(AnnotationFormatError) as e:
            parse_csv(text, "c.csv")
        assert (e.value.line, e.value.field) == (line, field), text


# ---------------------------------------------------------------- detection / lookup
def test_detect_format_by_extension_and_content(tmp_path, icbhi_dir, sprsound_dir):
    assert detect_format(icbhi_dir / "101_1b1_Al_sc_Meditron.txt") == "icbhi"
    assert detect_format(sprsound_dir / "40069321_15.3_0_p1_981.json") == "sprsound"
    cases = {"aud.txt": "1.5\t2.5\tWheeze\n", "aud2.txt": "0\t1\t0\t1x\n", "rav.txt": RAVEN, "tg.txt": SHORT,
             "c.txt": "start_s,end_s,label\n1,2,a\n", "n.json": json.dumps(AnnotationSet([Segment(0, 1, "a")]).to_dict())}
    want = {"aud.txt": "audacity", "aud2.txt": "audacity", "rav.txt": "raven", "tg.txt": "textgrid", "c.txt": "csv",
            "n.json": "clinaudio"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        assert detect_format(tmp_path / name) == want[name], name
        read_annotations(tmp_path / name)
    (tmp_path / "x.json").write_text('{"a": 1}')
    with pytest.raises(AnnotationFormatError, match="neither SPRSound"):
        detect_format(tmp_path / "x.json")
    with pytest.raises(AnnotationFormatError, match="give the format explicitly"):
        detect_format(tmp_path / "out.txt", for_writing=True)
    assert detect_format(tmp_path / "out.json", for_writing=True) == "sprsound"


def test_find_annotation_for_prefers_the_sidecar(tmp_path):
    audio = tmp_path / "40638274_9.7_1_p2_1801.flac"
    audio.write_bytes(b"x")
    assert find_annotation_for(audio) is None
    (tmp_path / "40638274_9.7_1_p2_1801.TextGrid").write_text(SHORT)
    assert find_annotation_for(audio).name == "40638274_9.7_1_p2_1801.TextGrid"
    (tmp_path / "40638274_9.7_1_p2_1801.json").write_text("{}")
    assert find_annotation_for(audio).name == "40638274_9.7_1_p2_1801.json"
    (tmp_path / "40638274_9.7_1_p2_1801.clinaudio.json").write_text("{}")
    assert find_annotation_for(audio).name == "40638274_9.7_1_p2_1801.clinaudio.json"


def test_empty_files(tmp_path):
    for name, ok in (("e.txt", True), ("e.json", False), ("e.TextGrid", False), ("e.csv", False)):
        (tmp_path / name).write_bytes(b"")
        if ok:
            assert len(read_annotations(tmp_path / name)) == 0
        else:
            with pytest.raises(AnnotationFormatError, match="empty"):
                read_annotations(tmp_path / name)
