"""Property-based fuzzing of every reader: whatever the input, a reader either returns an
AnnotationSet / samples or raises the project's own error (AnnotationFormatError /
AudioFileError). Inputs: arbitrary text and bytes, arbitrary JSON values, and valid files of
each format with random edits (which reach much deeper into the parsers than noise does)."""
from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinaudio_gui.core import AnnotationFormatError, AnnotationSet, AudioFileError, Segment
from clinaudio_gui.io import ALL_FORMATS, audio_info, dumps_annotations, read_annotations, read_audio
from clinaudio_gui.io.audacity import parse_audacity
from clinaudio_gui.io.csvfmt import parse_csv
from clinaudio_gui.io.hflung import parse_hflung
from clinaudio_gui.io.icbhi import parse_icbhi
from clinaudio_gui.io.native import parse_native
from clinaudio_gui.io.raven import parse_raven
from clinaudio_gui.io.sprsound import parse_sprsound
from clinaudio_gui.io.textgrid import parse_textgrid

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_SAMPLE = AnnotationSet([Segment(0.25, 1.5, "Wheeze", 100.0, 900.0, annotator="a", note="n, \"q\""),
                         Segment(1.5, 2.0, "normal"), Segment(1.0, 3.0, "crackle"), Segment(4, 4, "both")], "CAS")
VALID = {fmt: dumps_annotations(_SAMPLE if fmt != "icbhi" else AnnotationSet(
    [s for s in _SAMPLE.segments if s.label in ("normal", "crackle", "both")]), fmt, audio_duration_s=5.0)
    for fmt in ALL_FORMATS}
TEXT_PARSERS = {"icbhi": parse_icbhi, "hflung": parse_hflung, "audacity": parse_audacity, "textgrid": parse_textgrid,
                "raven": parse_raven, "csv": parse_csv}
SPECIAL = "\t\n\r \"'<>[]!\\,;:{}0123456789.-+eE"


@st.composite
def mutated(draw, base: str) -> str:
    """``base`` with a few random deletions, insertions and replacements."""
    s = base
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(s)))
        j = draw(st.integers(i, min(len(s), i + 12)))
        ins = draw(st.text(alphabet=st.sampled_from(SPECIAL) | st.characters(), max_size=6))
        s = s[:i] + ins + s[j:]
    return s


def _ok_or_ours(fn, *args):
    try:
        result = fn(*args)
    except AnnotationFormatError:
        return None
    assert isinstance(result, AnnotationSet)
    # whatever was read can be written again in every format, or refused with our error
    for fmt in ALL_FORMATS:
        try:
            dumps_annotations(result, fmt)
        except AnnotationFormatError:
            pass
    return result


@pytest.mark.parametrize("fmt", list(TEXT_PARSERS))
@FUZZ
@given(data=st.data())
def test_text_readers_on_mutated_and_random_text(fmt, data):
    text = data.draw(st.one_of(mutated(VALID[fmt]), st.text(max_size=200)))
    _ok_or_ours(TEXT_PARSERS[fmt], text, "fuzz.txt")


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                           lambda c: st.lists(c, max_size=4) | st.dictionaries(
                               st.sampled_from(["record_annotation", "recording_annotation", "event_annotation",
                                                "start", "end", "type", "segments", "start_s", "end_s", "label",
                                                "low_hz", "high_hz", "confidence", "source", "id", "metadata",
                                                "record_label", "note", "x"]), c, max_size=5), max_leaves=20)


@FUZZ
@given(value=JSON_VALUES)
def test_json_readers_on_arbitrary_json(value):
    _ok_or_ours(parse_sprsound, value, "fuzz.json")
    _ok_or_ours(parse_native, value, "fuzz.clinaudio.json")
    _ok_or_ours(parse_sprsound, {"record_annotation": "Normal", "event_annotation": [value]}, "f.json")
    _ok_or_ours(parse_native, {"segments": [value]}, "f.clinaudio.json")


@pytest.fixture(scope="module")
def fuzz_dir():
    d = tempfile.mkdtemp(prefix="clinaudio-fuzz-")
    yield Path(d)
    for p in Path(d).iterdir():
        p.unlink()
    os.rmdir(d)


NAMES = {"sprsound": "f.json", "clinaudio": "f.clinaudio.json", "icbhi": "f.txt", "audacity": "g.txt",
         "hflung": "f_label.txt",
         "textgrid": "f.TextGrid", "raven": "f.selections.txt", "csv": "f.csv"}


@pytest.mark.parametrize("fmt", list(NAMES))
@FUZZ
@given(data=st.data())
def test_read_annotations_on_files(fuzz_dir, fmt, data):
    """The whole path (bytes on disk, decoding, detection, parsing), with and without an explicit format."""
    raw = data.draw(st.one_of(mutated(VALID[fmt]).map(lambda s: s.encode("utf-8", "surrogatepass")),
                              st.binary(max_size=200),
                              mutated(VALID[fmt]).map(lambda s: s.encode("utf-16", "surrogatepass"))))
    p = fuzz_dir / NAMES[fmt]
    p.write_bytes(raw)
    _ok_or_ours(read_annotations, p)
    _ok_or_ours(read_annotations, p, fmt)


def _small_audio(fmt: str, subtype: str) -> bytes:
    buf = io.BytesIO()
    y = np.sin(np.arange(2000) / 7.0).astype(np.float32) * 0.3
    sf.write(buf, np.stack([y, -y], 1), 8000, format=fmt, subtype=subtype)
    return buf.getvalue()


AUDIO = {".wav": _small_audio("WAV", "PCM_16"), ".flac": _small_audio("FLAC", "PCM_16"),
         ".ogg": _small_audio("OGG", "VORBIS"), ".mp3": _small_audio("MP3", "MPEG_LAYER_III")}


@pytest.mark.parametrize("ext", list(AUDIO))
@FUZZ
@given(data=st.data())
def test_audio_reader_on_corrupted_files(fuzz_dir, ext, data):
    base = AUDIO[ext]
    kind = data.draw(st.sampled_from(["truncate", "flip", "random"]))
    if kind == "truncate":
        raw = base[: data.draw(st.integers(0, len(base) - 1))]
    elif kind == "flip":
        b = bytearray(base)
        for _ in range(data.draw(st.integers(1, 8))):
            b[data.draw(st.integers(0, min(len(b) - 1, 400)))] = data.draw(st.integers(0, 255))
        raw = bytes(b)
    else:
        raw = data.draw(st.binary(max_size=300))
    p = fuzz_dir / f"a{ext}"
    p.write_bytes(raw)
    try:
        info = audio_info(p)
        y, sr = read_audio(p, start_s=0.0, end_s=0.1)
        assert sr == info["sample_rate_hz"] and y.dtype == np.float32
        read_audio(p, channel=0)
    except AudioFileError:
        pass
