"""Property: any AnnotationSet survives each format, keeping exactly what that format can carry
(times exact, SPRSound to the ms; labels; record label; boxes; the other Segment fields in CSV)."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinaudio_gui.core import AnnotationSet, Segment
from clinaudio_gui.io import ALL_FORMATS, CARRIES_BOX, CARRIES_RECORD_LABEL, dumps_annotations
from clinaudio_gui.io.formats import _TEXT_PARSERS
from clinaudio_gui.io.icbhi import FLAGS_TO_LABEL
from clinaudio_gui.io.native import parse_native
from clinaudio_gui.io.sprsound import EVENT_ALIASES, parse_sprsound

LABEL = st.text(st.sampled_from("abcXYZ019 +&-_é漢"), min_size=1, max_size=12).map(str.strip).filter(
    lambda s: s and s.lower() not in EVENT_ALIASES)
TIME = st.floats(0, 5000, allow_nan=False, allow_infinity=False)


@st.composite
def segments(draw, labels=LABEL):
    a, b = sorted((draw(TIME), draw(TIME)))
    kw = {}
    if draw(st.booleans()):
        lo, hi = sorted((draw(st.floats(0, 20000)), draw(st.floats(0.001, 20000))))
        kw = {"low_hz": lo, "high_hz": max(hi, lo + 0.001)}
    if draw(st.booleans()):
        kw.update(annotator=draw(st.text(max_size=8)), source=draw(st.sampled_from(["human", "model"])),
                  confidence=draw(st.none() | st.floats(0, 1)), note=draw(st.text(max_size=20)))
    return Segment(a, b, draw(labels), **kw)


def annotation_sets(labels=LABEL):
    return st.builds(AnnotationSet, st.lists(segments(labels), max_size=12), st.none() | LABEL)


def parse(text, fmt):
    if fmt == "sprsound":
        return parse_sprsound(json.loads(text))
    if fmt == "clinaudio":
        return parse_native(json.loads(text))
    return _TEXT_PARSERS[fmt](text)


def key(s: Segment, fmt: str):
    t = (round(s.start_s * 1000), round(s.end_s * 1000)) if fmt == "sprsound" else (s.start_s, s.end_s)
    box = (s.low_hz, s.high_hz) if fmt in CARRIES_BOX else None
    rest = (s.annotator, s.source, s.confidence, s.note) if fmt in ("csv", "clinaudio") else None
    return t + (s.label, box, rest)


@pytest.mark.parametrize("fmt", [f for f in ALL_FORMATS if f not in ("icbhi", "hflung")])  # fixed vocabularies
@settings(max_examples=60, deadline=None)
@given(a=annotation_sets())
def test_any_annotation_set_round_trips(fmt, a):
    b = parse(dumps_annotations(a, fmt), fmt)
    assert sorted(map(repr, (key(s, fmt) for s in b.segments))) == sorted(map(repr, (key(s, fmt) for s in a.segments)))
    if fmt in CARRIES_RECORD_LABEL:
        assert b.record_label == a.record_label


@settings(max_examples=60, deadline=None)
@given(a=annotation_sets(st.sampled_from(sorted(FLAGS_TO_LABEL.values()))))
def test_any_icbhi_set_round_trips(a):
    b = parse(dumps_annotations(a, "icbhi"), "icbhi")
    assert sorted((s.start_s, s.end_s, s.label) for s in b.segments) == \
           sorted((s.start_s, s.end_s, s.label) for s in a.segments)
