"""CSV annotations with a header row (comma-separated, RFC 4180 quoting)::

    start_s,end_s,label,low_hz,high_hz,annotator,source,confidence,note,record_label

Only start_s, end_s and label are required (``start``/``end`` are accepted too); columns may
come in any order. The record label is a column, repeated on every row; a recording with a
record label but no segments gets one row with empty start_s/end_s/label so that nothing is
lost. Everything a Segment holds except its id survives a round trip.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.errors import AnnotationFormatError
from clinaudio_gui.core.segment import SOURCES, Segment
from clinaudio_gui.io._text import fmt_number, parse_number, read_text

COLUMNS = ("start_s", "end_s", "label", "low_hz", "high_hz", "annotator", "source", "confidence", "note",
           "record_label")
_ALIASES = {"start": "start_s", "end": "end_s", "begin_s": "start_s", "onset_s": "start_s", "offset_s": "end_s",
            "low_freq_hz": "low_hz", "high_freq_hz": "high_hz", "record": "record_label"}


def looks_like_csv_header(line: str) -> bool:
    cols = {_ALIASES.get(c.strip().lower(), c.strip().lower()) for c in line.split(",")}
    return {"start_s", "end_s", "label"} <= cols


def parse_csv(text: str, path: str | Path = "<memory>") -> AnnotationSet:
    rows = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(rows, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(rows, None)
        if header is None:
            raise AnnotationFormatError("no header row (start_s,end_s,label,...)", path=path, line=1)
        names = [_ALIASES.get(c.strip().lower(), c.strip().lower()) for c in header]
        head_line = rows.line_num
        for need in ("start_s", "end_s", "label"):
            if need not in names:
                raise AnnotationFormatError(f"the header has no {need!r} column (got {', '.join(header)[:80]})",
                                            path=path, line=head_line, field=need)
        dup = {n for n in names if n and names.count(n) > 1}
        if dup:
            raise AnnotationFormatError(f"duplicate column(s) {', '.join(sorted(dup))}", path=path, line=head_line)
        segs: list[Segment] = []
        record: str | None = None
        for row in rows:
            ln = rows.line_num
            if not any(c.strip() for c in row):
                continue
            if len(row) > len(names):
                raise AnnotationFormatError(f"{len(row)} fields but the header has {len(names)}", path=path, line=ln)
            d = dict(zip(names, row + [""] * (len(names) - len(row))))
            rl = d.get("record_label", "").strip()
            if rl:
                if record is not None and rl != record:
                    raise AnnotationFormatError(f"record_label {rl!r} differs from {record!r} on an earlier row",
                                                path=path, line=ln, field="record_label")
                record = rl
            if not d["start_s"].strip() and not d["end_s"].strip() and not d["label"]:
                continue   # a row that only carries the record label
            segs.append(_segment(d, path, ln))
    except csv.Error as e:
        raise AnnotationFormatError(f"malformed CSV: {e}", path=path, line=rows.line_num) from None
    return AnnotationSet(segs, record, {"source_format": "csv"})


def _segment(d: dict, path, ln: int) -> Segment:
    start = parse_number(d["start_s"].strip(), path=path, line=ln, field="start_s", what="a time in seconds")
    end = parse_number(d["end_s"].strip(), path=path, line=ln, field="end_s", what="a time in seconds")
    if end < start:
        raise AnnotationFormatError(f"end_s {d['end_s'].strip()} is before start_s {d['start_s'].strip()}",
                                    path=path, line=ln, field="end_s")
    kw: dict = {}
    lo, hi = d.get("low_hz", "").strip(), d.get("high_hz", "").strip()
    if lo or hi:
        if not (lo and hi):
            raise AnnotationFormatError("low_hz and high_hz must both be given (a box) or both be empty",
                                        path=path, line=ln, field="low_hz" if not lo else "high_hz")
        kw["low_hz"] = parse_number(lo, path=path, line=ln, field="low_hz", what="a frequency in Hz")
        kw["high_hz"] = parse_number(hi, path=path, line=ln, field="high_hz", what="a frequency in Hz")
        if kw["high_hz"] < kw["low_hz"]:
            raise AnnotationFormatError(f"high_hz {hi} is below low_hz {lo}", path=path, line=ln, field="high_hz")
    src = d.get("source", "").strip() or "human"
    if src not in SOURCES:
        raise AnnotationFormatError(f"source {src!r} must be one of {', '.join(SOURCES)}", path=path, line=ln,
                                    field="source")
    conf = d.get("confidence", "").strip()
    if conf:
        c = parse_number(conf, path=path, line=ln, field="confidence", what="a confidence")
        if c > 1:
            raise AnnotationFormatError(f"confidence {conf} must be within [0, 1]", path=path, line=ln,
                                        field="confidence")
        kw["confidence"] = c
    return Segment(start, end, d["label"], annotator=d.get("annotator", ""), source=src,
                   note=d.get("note", ""), **kw)


def read_csv(path: str | Path) -> AnnotationSet:
    return parse_csv(read_text(path), path)


def _n(v) -> str:
    return "" if v is None else fmt_number(v)


def dumps_csv(annotations: AnnotationSet, *, path: str | Path = "<memory>") -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")   # RFC 4180; with "\n" a lone "\r" in a note is not quoted
    w.writerow(COLUMNS)
    rl = annotations.record_label or ""
    segs = annotations.sorted_segments()
    for s in segs:
        w.writerow([_n(s.start_s), _n(s.end_s), s.label, _n(s.low_hz), _n(s.high_hz), s.annotator, s.source,
                    _n(s.confidence), s.note, rl])
    if not segs and rl:
        w.writerow(["", "", "", "", "", "", "", "", "", rl])
    return buf.getvalue()


def write_csv(path: str | Path, annotations: AnnotationSet) -> None:
    atomic_write_text(path, dumps_csv(annotations, path=path))
