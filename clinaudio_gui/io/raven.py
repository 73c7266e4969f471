"""Raven Pro selection tables (``*.selections.txt``): tab-separated with a header row::

    Selection  View  Channel  Begin Time (s)  End Time (s)  Low Freq (Hz)  High Freq (Hz)  Annotation

Raven lists a selection once per view ("Waveform 1", "Spectrogram 1") with the same
Selection number; those duplicates are one segment, taken from the spectrogram row (a waveform
row gives the whole band, 0 Hz to Nyquist, as its frequencies). Selections of a multi-channel
recording are rows of their own (their own Selection number, or the same one per channel): each
distinct selection is one segment; the channel itself is not kept. The label column is
``Annotation`` (or the first of Label / Type / Class / Species / Call Type, else the first free-text
column: measurement columns, which carry a unit such as "Peak Freq (Hz)", never count). Any number
of extra columns, in any order, is accepted; trailing empty fields are ignored.
A selection made in the waveform has no frequency range; here a segment without a box is
written with both frequencies 0, and 0-0 reads back as no box. No record label.
"""
from __future__ import annotations

import re
from pathlib import Path

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.errors import AnnotationFormatError
from clinaudio_gui.core.segment import Segment
from clinaudio_gui.io._text import fmt_number, parse_number, read_text, split_lines

HEADER = ("Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)",
          "Annotation")
_STANDARD = {h.lower() for h in HEADER[:-1]} | {
    "delta time (s)", "delta freq (hz)", "begin file", "end file", "file offset (s)", "begin path",
    "begin clock time", "end clock time", "begin date", "end date", "center freq (hz)", "peak freq (hz)",
    "avg power density (db fs/hz)", "max power (db)", "inband power (db fs)"}
_UNIT = re.compile(r"\([^()]*\)\s*$")
_LABEL_COLUMNS = ("annotation", "label", "type", "class", "species", "call type", "annotations")


def is_raven_header(line: str) -> bool:
    cols = [c.strip().lower() for c in line.split("\t")]
    return "begin time (s)" in cols and "end time (s)" in cols


def parse_raven(text: str, path: str | Path = "<memory>") -> AnnotationSet:
    lines = split_lines(text)
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        return AnnotationSet([], None, {"source_format": "raven"})
    header = [c.strip() for c in lines[first].split("\t")]
    low = [c.lower() for c in header]
    need = {"begin": "begin time (s)", "end": "end time (s)"}
    idx = {}
    for key, col in need.items():
        if col not in low:
            raise AnnotationFormatError(f"no {col.title()!r} column in the header", path=path, line=first + 1)
        idx[key] = low.index(col)
    idx_sel = low.index("selection") if "selection" in low else None
    idx_low = low.index("low freq (hz)") if "low freq (hz)" in low else None
    idx_high = low.index("high freq (hz)") if "high freq (hz)" in low else None
    idx_label = next((low.index(c) for c in _LABEL_COLUMNS if c in low), None)
    if idx_label is None:   # the first free-text column; measurements carry a unit: "Peak Time (s)", "Dur 90% (s)"
        idx_label = next((i for i, c in enumerate(low) if c and c not in _STANDARD and not _UNIT.search(c)), None)
    idx_view = low.index("view") if "view" in low else None
    segs: list[Segment] = []
    where: dict[str, tuple[int, bool]] = {}   # selection -> (index in segs, from a spectrogram view)
    for n in range(first + 1, len(lines)):
        line = lines[n]
        if not line.strip():
            continue
        cols = line.split("\t")
        ln = n + 1
        if len(cols) < len(header):
            cols += [""] * (len(header) - len(cols))
        while len(cols) > len(header) and not cols[-1].strip():
            cols.pop()          # trailing tabs some exporters add
        if len(cols) > len(header):
            raise AnnotationFormatError(f"{len(cols)} columns but the header has {len(header)}", path=path, line=ln)
        sel = cols[idx_sel].strip() if idx_sel is not None else None
        spectro = idx_view is not None and cols[idx_view].strip().lower().startswith("spectrogram")
        if sel is not None and sel in where and (where[sel][1] or not spectro):
            continue   # the same selection in another view; the spectrogram row holds the real box
        a = parse_number(cols[idx["begin"]].strip(), path=path, line=ln, field="Begin Time (s)",
                         what="a time in seconds")
        b = parse_number(cols[idx["end"]].strip(), path=path, line=ln, field="End Time (s)",
                         what="a time in seconds")
        if b < a:
            raise AnnotationFormatError(f"End Time {cols[idx['end']].strip()} is before Begin Time "
                                        f"{cols[idx['begin']].strip()}", path=path, line=ln)
        box = {}
        if idx_low is not None and idx_high is not None and (cols[idx_low].strip() or cols[idx_high].strip()):
            f0 = parse_number(cols[idx_low].strip(), path=path, line=ln, field="Low Freq (Hz)",
                              what="a frequency in Hz")
            f1 = parse_number(cols[idx_high].strip(), path=path, line=ln, field="High Freq (Hz)",
                              what="a frequency in Hz")
            if f1 < f0:
                raise AnnotationFormatError(f"High Freq {cols[idx_high].strip()} is below Low Freq "
                                            f"{cols[idx_low].strip()}", path=path, line=ln)
            if not (f0 == 0 and f1 == 0):
                box = {"low_hz": f0, "high_hz": f1}
        label = cols[idx_label] if idx_label is not None else ""
        seg = Segment(a, b, label, **box)
        if sel is not None and sel in where:
            segs[where[sel][0]] = seg
            where[sel] = (where[sel][0], True)
        else:
            if sel is not None:
                where[sel] = (len(segs), spectro)
            segs.append(seg)
    return AnnotationSet(segs, None, {"source_format": "raven"})


def read_raven(path: str | Path) -> AnnotationSet:
    return parse_raven(read_text(path), path)


def dumps_raven(annotations: AnnotationSet, *, path: str | Path = "<memory>") -> str:
    out = ["\t".join(HEADER)]
    for k, s in enumerate(annotations.sorted_segments(), 1):
        if any(c in s.label for c in "\t\n\r"):
            raise AnnotationFormatError(f"label {s.label!r} has a tab or line break, which a selection table "
                                        "cannot hold", path=path, field="label")
        f0, f1 = (s.low_hz, s.high_hz) if s.is_box else (0.0, 0.0)
        out.append("\t".join([str(k), "Spectrogram 1", "1", fmt_number(s.start_s), fmt_number(s.end_s),
                              fmt_number(f0), fmt_number(f1), s.label]))
    return "\n".join(out) + "\n"


def write_raven(path: str | Path, annotations: AnnotationSet) -> None:
    atomic_write_text(path, dumps_raven(annotations, path=path))
