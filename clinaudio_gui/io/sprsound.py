"""SPRSound JSON annotations and the SPRSound / ICBHI file-name conventions.

The releases use three shapes (see docs/formats.md for the sources)::

    2022 / 2023 (compact, one line):
    {"record_annotation": "CAS", "event_annotation": [{"start": "1234", "end": "2345", "type": "Wheeze"}]}

    2024 / 2025 detection track (4-space indent, no record label, no final newline):
    {
        "event_annotation": [
            {
                "start": "553",
    ...

    the repository README's example: "recording_annotation", times as JSON numbers.

Everything is optional but the event list: the record key (either spelling, or none at all),
``start``/``end`` in ms as strings or numbers, events in any order, any layout. The shape a
file came in (record key, layout, time type, event order) is kept in ``metadata["sprsound_shape"]``
and :func:`dumps_sprsound` writes it back that way (the real 2022-2025 files byte for byte);
without a remembered shape it writes the 2022 form. "Wheeze & Crackle" reads as "Wheeze+Crackle".
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


RECORD_KEYS = ("record_annotation", "recording_annotation")
COMPACT_2022 = {"record_key": "record_annotation", "indent": None, "separators": [", ", ": "], "times": "str",
                "order": "sorted", "newline": False, "record_first": True}


def detect_shape(data: dict, text: str | None) -> dict:
    """How a parsed SPRSound document is laid out (see the module docstring)."""
    keys = list(data)
    record_key = next((k for k in keys if k in RECORD_KEYS), None)
    events = data.get("event_annotation") if isinstance(data.get("event_annotation"), list) else []
    first = next((e for e in events if isinstance(e, dict) and "start" in e), None)
    times = "int" if first is not None and isinstance(first["start"], (int, float)) \
        and not isinstance(first["start"], bool) else "str"
    starts = []
    for e in events:
        try:
            starts.append((float(e["start"]), float(e["end"])))
        except (TypeError, ValueError, KeyError, OverflowError):
            starts = []
            break
    shape = dict(COMPACT_2022, record_key=record_key, times=times,
                 order="sorted" if starts == sorted(starts) else "as_read",
                 record_first=record_key is None or "event_annotation" not in keys
                 or keys.index(record_key) < keys.index("event_annotation"))
    if text is not None:
        body = text.strip()
        shape["newline"] = text.endswith("\n")
        if "\n" in body:
            second = body.split("\n", 2)[1]
            ws = second[: len(second) - len(second.lstrip())]
            shape["indent"] = "\t" if ws.startswith("\t") else max(len(ws), 1)
            shape["separators"] = [",", ": "]
        else:
            shape["separators"] = [", " if ", " in body or "," not in body else ",",
                                   ": " if '": ' in body or ":" not in body else ":"]
    return shape


def parse_sprsound(data: object, path: str | Path = "<memory>", *, text: str | None = None) -> AnnotationSet:
    """``text`` (the file as read) lets the layout be remembered for writing back."""
    if not isinstance(data, dict):
        raise AnnotationFormatError("SPRSound JSON must be an object", path=path)
    if not ({"event_annotation"} | set(RECORD_KEYS)) & set(data):
        raise AnnotationFormatError("neither 'event_annotation' nor 'record_annotation' (a SPRSound file has at "
                                    "least one)", path=path, field="event_annotation")
    rec_key = next((k for k in RECORD_KEYS if k in data), None)
    record = data.get(rec_key) if rec_key else None
    if record is not None and not isinstance(record, str):
        raise AnnotationFormatError(f"record label must be a string, got {record!r}"[:200], path=path,
                                    field=rec_key)
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
            raise AnnotationFormatError(f"event type must be a non-empty string, got {ev['type']!r}"[:200],
                                        path=path, field=f + ".type")
        start, end = _ms(ev["start"], path, f + ".start"), _ms(ev["end"], path, f + ".end")
        if end < start:
            raise AnnotationFormatError(f"end {ev['end']!r} ms is before start {ev['start']!r} ms",
                                        path=path, field=f)
        segs.append(Segment(start, end, normalize_event_label(ev["type"])))
    record = record.strip() if isinstance(record, str) else None
    return AnnotationSet(segs, record or None, {"source_format": "sprsound",
                                                "sprsound_shape": detect_shape(data, text)})


def read_sprsound(path: str | Path) -> AnnotationSet:
    path = Path(path)
    text = read_text(path)
    return parse_sprsound(_loads(text, path), path, text=text)


def load_json(path: Path) -> object:
    """Parsed JSON, or AnnotationFormatError with the line of the syntax error."""
    return _loads(read_text(path), path)


def _loads(text: str, path) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise AnnotationFormatError(f"invalid JSON: {e.msg} (column {e.colno})", path=path, line=e.lineno) from None
    except (ValueError, RecursionError) as e:  # e.g. a 5000-digit number, nesting 100k deep
        raise AnnotationFormatError(f"invalid JSON: {str(e)[:120]}", path=path) from None


def _ms_str(t_s: float) -> str:
    return str(int(round(t_s * 1000.0)))


def _shape_of(annotations: AnnotationSet) -> dict:
    shape = annotations.metadata.get("sprsound_shape")
    out = dict(COMPACT_2022)
    if isinstance(shape, dict):
        out.update({k: v for k, v in shape.items() if k in COMPACT_2022})
    return out


def sprsound_dict(annotations: AnnotationSet) -> dict:
    """The document in the remembered shape: a record key only where the source had one (or a
    record label is set, which is never dropped), times as strings or numbers, events sorted
    unless the source listed them in another order."""
    shape = _shape_of(annotations)
    segs = annotations.sorted_segments() if shape["order"] != "as_read" else list(annotations.segments)
    as_int = shape["times"] == "int"
    events = [{"start": int(round(s.start_s * 1000.0)) if as_int else _ms_str(s.start_s),
               "end": int(round(s.end_s * 1000.0)) if as_int else _ms_str(s.end_s), "type": s.label}
              for s in segs]
    rec_key = shape["record_key"] if shape["record_key"] in RECORD_KEYS else None
    if rec_key is None and annotations.record_label:
        rec_key = "record_annotation"
    if rec_key is None:
        return {"event_annotation": events}
    rec = annotations.record_label or ""
    if shape["record_first"]:
        return {rec_key: rec, "event_annotation": events}
    return {"event_annotation": events, rec_key: rec}


def dumps_sprsound(annotations: AnnotationSet) -> str:
    shape = _shape_of(annotations)
    indent = shape["indent"]
    if not (indent is None or indent == "\t" or (isinstance(indent, int) and not isinstance(indent, bool)
                                                  and 0 < indent <= 16)):
        indent = None
    seps = shape["separators"]
    if not (isinstance(seps, (list, tuple)) and len(seps) == 2 and seps[0] in (",", ", ")
            and seps[1] in (":", ": ")):
        seps = COMPACT_2022["separators"]
    text = json.dumps(sprsound_dict(annotations), ensure_ascii=False, indent=indent, separators=tuple(seps))
    return text + "\n" if shape["newline"] else text


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
