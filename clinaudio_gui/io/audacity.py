"""Audacity label tracks (File > Export > Labels): ``start\\tend\\tlabel`` a line, in seconds.

A label with a spectral selection is followed by a line ``\\\\\\tlow_hz\\thigh_hz`` (a backslash
first, so that old Audacity versions ignore it); Audacity writes -1 for an undefined edge.
Here a box needs both edges: an undefined low edge reads as 0 Hz, an undefined high edge
drops the box. No record label in this format.

Read as tolerantly as Audacity's own importer: the columns may be separated by any run of
spaces and tabs (files re-saved by editors and scripts), with a tab right after the end time
the label is everything after that one tab (so labels keep inner and leading spaces);
otherwise the label is the rest of the line after the whitespace. A spectral-selection line
may also come without its backslash (a line starting with a tab and holding just two
numbers, right after a label line that is not itself indented). Decimal commas of some locales are accepted.
"""
from __future__ import annotations

import re
from pathlib import Path

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.errors import AnnotationFormatError
from clinaudio_gui.core.segment import Segment
from clinaudio_gui.io._text import fmt_number, parse_number, read_text, split_lines


def _num(token: str) -> str:
    """Audacity builds of some locales wrote a decimal comma ("1,500000"): accept it."""
    t = token.strip()
    return t.replace(",", ".") if "," in t and "." not in t and t.count(",") == 1 else t


_LABEL = re.compile(r"^[ \t]*(\S+)[ \t]+(\S+)(.*)$", re.S)
_BARE_SPECTRAL = re.compile(r"^\t[ \t]*(\S+)[ \t]+(\S+)[ \t]*$")


def _spectral(segs: list[Segment], low_tok: str, high_tok: str, path, n: int) -> None:
    low = parse_number(_num(low_tok), path=path, line=n, field="low", what="a frequency in Hz", minimum=None)
    high = parse_number(_num(high_tok), path=path, line=n, field="high", what="a frequency in Hz", minimum=None)
    low = 0.0 if low < 0 else low
    if high < 0:
        return
    if high < low:
        raise AnnotationFormatError(f"high frequency {high_tok.strip()} is below low {low_tok.strip()}",
                                    path=path, line=n)
    segs[-1] = segs[-1].replace(low_hz=low, high_hz=high)


def parse_audacity(text: str, path: str | Path = "<memory>") -> AnnotationSet:
    segs: list[Segment] = []
    last_line = 0   # line of the label a '\' line may belong to
    for n, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        head = line.lstrip(" \t")
        if head.startswith("\\"):
            if not segs or last_line != n - 1:
                raise AnnotationFormatError("a spectral-selection line '\\ low high' must follow a label line",
                                            path=path, line=n)
            cols = head[1:].split()
            if len(cols) < 2:
                raise AnnotationFormatError(f"spectral-selection line needs '\\ low high', got {line[:60]!r}",
                                            path=path, line=n)
            _spectral(segs, cols[0], cols[1], path, n)
            continue
        bare = _BARE_SPECTRAL.match(line)
        if bare and segs and last_line == n - 1 and not last_indented:
            _spectral(segs, bare.group(1), bare.group(2), path, n)
            continue
        m = _LABEL.match(line)
        if m is None:
            raise AnnotationFormatError(f"expected 'start<TAB>end<TAB>label', got {line[:60]!r}", path=path, line=n)
        t0, t1, rest = m.groups()
        start = parse_number(_num(t0), path=path, line=n, field="start", what="a time in seconds")
        end = parse_number(_num(t1), path=path, line=n, field="end", what="a time in seconds")
        if end < start:
            raise AnnotationFormatError(f"end {t1} is before start {t0}", path=path, line=n)
        label = rest[1:] if rest.startswith("\t") else rest.lstrip(" \t")
        segs.append(Segment(start, end, label))
        last_line, last_indented = n, line[:1] in (" ", "\t")
    return AnnotationSet(segs, None, {"source_format": "audacity"})


def read_audacity(path: str | Path) -> AnnotationSet:
    return parse_audacity(read_text(path), path)


def dumps_audacity(annotations: AnnotationSet, *, path: str | Path = "<memory>") -> str:
    out = []
    for s in annotations.sorted_segments():
        if "\n" in s.label or "\r" in s.label:
            raise AnnotationFormatError(f"label {s.label!r} has a line break, which a label track cannot hold",
                                        path=path, field="label")
        out.append(f"{fmt_number(s.start_s)}\t{fmt_number(s.end_s)}\t{s.label}\n")
        if s.is_box:
            out.append(f"\\\t{fmt_number(s.low_hz)}\t{fmt_number(s.high_hz)}\n")
    return "".join(out)


def write_audacity(path: str | Path, annotations: AnnotationSet) -> None:
    atomic_write_text(path, dumps_audacity(annotations, path=path))
