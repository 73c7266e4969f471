"""SPRSound JSON annotations and the SPRSound / ICBHI file-name conventions.

SPRSound JSON (2022 release)::

    {"record_annotation": "CAS", "event_annotation": [{"start": "1234", "end": "2345", "type": "Wheeze"}]}

Accepted variations: ``recording_annotation`` for the record key; ``start``/``end`` in ms as
strings or numbers; "Wheeze & Crackle" for "Wheeze+Crackle". Written in the release's own form
(``record_annotation``, ms as integer strings).
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.errors import AnnotationFormatError
from clinaudio_gui.core.segment import Segment
from clinaudio_gui.io._text import read_text

EVENT_ALIASES = {"wheeze & crackle": "Wheeze+Crackle", "wheeze+crackle": "Wheeze+Crackle",
                 "wheeze&crackle": "Wheeze+Crackle"}


def normalize_event_label(label: str) -> str:
    return EVENT_ALIASES.get(label.strip().lower(), label.strip())


def _ms(value, path, field) -> float:
    if isinstance(value, bool) or value is None:
        raise AnnotationFormatError(f"{value!r} is not a time in ms", path=path, field=field)
    if not isinstance(value, (str, int, float)):
        raise AnnotationFormatError(f"{value!r} is not a time in ms", path=path, field=field)
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise AnnotationFormatError(f"{value!r} is not a time in ms", path=path, field=field) from None
    if not math.isfinite(v) or v < 0:
        raise AnnotationFormatError(f"{value!r} is not a time in ms >= 0", path=path, field=field)
    return v / 1000.0


def parse_sprsound(data: object, path: str | Path = "<memory>") -> AnnotationSet:
    if not isinstance(data, dict):
        raise AnnotationFormatError("SPRSound JSON must be an object", path=path)
    if "record_annotation" in data:
        rec_key = "record_annotation"
    elif "recording_annotation" in data:
        rec_key = "recording_annotation"
    else:
        raise AnnotationFormatError("no 'record_annotation' (or 'recording_annotation') key", path=path,
                                    field="record_annotation")
    record = data[rec_key]
    if record is not None and not isinstance(record, str):
        raise AnnotationFormatError(f"record label must be a string, got {record!r}", path=path, field=rec_key)
    events = data.get("event_annotation", [])
    if events is None:
        events = []
    if not isinstance(events, list):
        raise AnnotationFormatError("'event_annotation' must be a list", path=path, field="event_annotation")
    segs = []
    for i, ev in enumerate(events):
        f = f"event_annotation[{i}]"
        if not isinstance(ev, dict):
            raise AnnotationFormatError("event must be an object", path=path, field=f)
        for k in ("start", "end", "type"):
            if k not in ev:
                raise AnnotationFormatError(f"event lacks '{k}'", path=path, field=f)
        if not isinstance(ev["type"], str) or not ev["type"].strip():
            raise AnnotationFormatError(f"event type must be a non-empty string, got {ev['type']!r}",
                                        path=path, field=f + ".type")
        start, end = _ms(ev["start"], path, f + ".start"), _ms(ev["end"], path, f + ".end")
        if end < start:
            raise AnnotationFormatError(f"end {ev['end']!r} ms is before start {ev['start']!r} ms",
                                        path=path, field=f)
        segs.append(Segment(start, end, normalize_event_label(ev["type"])))
    record = record.strip() if isinstance(record, str) else None
    return AnnotationSet(segs, record or None, {"source_format": "sprsound"})


def read_sprsound(path: str | Path) -> AnnotationSet:
    path = Path(path)
    return parse_sprsound(load_json(path), path)


def load_json(path: Path) -> object:
    """Parsed JSON, or AnnotationFormatError with the line of the syntax error."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise AnnotationFormatError(f"invalid JSON: {e.msg} (column {e.colno})", path=path, line=e.lineno) from None
    except (ValueError, RecursionError) as e:  # e.g. a 5000-digit number, nesting 100k deep
        raise AnnotationFormatError(f"invalid JSON: {str(e)[:120]}", path=path) from None


def _ms_str(t_s: float) -> str:
    return str(int(round(t_s * 1000.0)))


def sprsound_dict(annotations: AnnotationSet) -> dict:
    return {"record_annotation": annotations.record_label or "",
            "event_annotation": [{"start": _ms_str(s.start_s), "end": _ms_str(s.end_s), "type": s.label}
                                 for s in annotations.sorted_segments()]}


def dumps_sprsound(annotations: AnnotationSet) -> str:
    return json.dumps(sprsound_dict(annotations), ensure_ascii=False)


def write_sprsound(path: str | Path, annotations: AnnotationSet) -> None:
    atomic_write_text(path, dumps_sprsound(annotations))


_SPR_NAME = re.compile(r"^(?P<patient>\d+)_(?P<age>[\d.]+)_(?P<gender>[01])_(?P<location>p[1-4])_(?P<number>\d+)$")
_ICBHI_NAME = re.compile(r"^(?P<patient>\d{3})_(?P<index>\w+?)_(?P<location>[A-Za-z]{2})_"
                         r"(?P<mode>sc|mc)_(?P<device>\w+)$")
LOCATIONS = {"p1": "left posterior", "p2": "left lateral", "p3": "right posterior", "p4": "right lateral"}


def file_stem(path: str | Path) -> str:
    """The name without its extension. Not Path.stem alone: SPRSound names contain a dot
    (the age, '40638274_9.7_1_p2_1801'), so only a real extension is stripped."""
    name = Path(path).name
    for ext in (".clinaudio.json", ".TextGrid", ".textgrid", ".json", ".txt", ".csv", ".wav", ".flac",
                ".ogg", ".mp3", ".aif", ".aiff", ".au"):
        if name.lower().endswith(ext.lower()):
            return name[: -len(ext)]
    return name


def parse_sprsound_name(stem: str) -> dict | None:
    """patient_age_gender_location_number -> dict, or None if the name does not follow it."""
    m = _SPR_NAME.match(stem)
    if not m:
        return None
    d = m.groupdict()
    return {"patient": d["patient"], "age_years": float(d["age"]),
            "gender": "male" if d["gender"] == "0" else "female", "location": d["location"],
            "location_name": LOCATIONS[d["location"]], "number": int(d["number"])}


def parse_icbhi_name(stem: str) -> dict | None:
    m = _ICBHI_NAME.match(stem)
    return m.groupdict() if m else None


def patient_of(path: str | Path) -> str | None:
    """The patient id from an SPRSound or ICBHI file name (None if neither)."""
    stem = file_stem(path)
    d = parse_sprsound_name(stem) or parse_icbhi_name(stem)
    return d["patient"] if d else None
