"""HF_Lung label files (HF_Lung_V1 / V2, Hsu et al. 2021, PLoS ONE 16(7): e0254134): one label a
line, ``TYPE HH:MM:SS.mmm HH:MM:SS.mmm`` (type, onset, offset), e.g. ``I 00:00:00.521 00:00:01.904``.

Types: ``I`` inhalation and ``E`` exhalation (breath phases), ``D`` discontinuous adventitious
sound (crackles), ``C`` continuous adventitious sound without a sub-type, and the CAS sub-types
``Wheeze``, ``Stridor``, ``Rhonchi``. Reading is tolerant the way the dataset's own tools are
(any run of spaces / tabs between the columns, CRLF, blank lines, ``H:MM:SS`` without
milliseconds); the types are returned as written and mapped onto the active schema by
:mod:`clinaudio_gui.io.labelmap` (I -> Inhalation, E -> Exhalation, D -> DAS, C -> CAS ...).

Writing maps back: Inhalation -> I, Exhalation -> E, DAS / crackles of any kind -> D, CAS -> C,
Wheeze / Stridor / Rhonchi as they are, Wheeze+Crackle -> a Wheeze line and a D line.
"Normal" has no HF_Lung type (an unlabelled stretch is normal) and is left out; any other
label without spaces is written as its own type, a label with spaces is refused. Times are
written to the millisecond, in the order and with the line ends the file was read with
(``metadata["hflung_shape"]``). No record label, no frequency boxes.
"""
from __future__ import annotations

import re
from pathlib import Path

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.errors import AnnotationFormatError
from clinaudio_gui.core.segment import Segment
from clinaudio_gui.io._text import read_text, split_lines
from clinaudio_gui.io.labelmap import normalize

TYPES = ("I", "E", "D", "C", "Wheeze", "Stridor", "Rhonchi")
_TIME = re.compile(r"^(\d{1,3}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
LINE = re.compile(r"^\s*\S+[ \t]+\d{1,3}:\d{1,2}:\d{1,2}(?:\.\d+)?[ \t]+\d{1,3}:\d{1,2}:\d{1,2}(?:\.\d+)?\s*$")
# normalised label -> the HF_Lung type(s) it is written as; () = not written
_TYPE_OF: dict[str, tuple[str, ...]] = {
    "i": ("I",), "inhalation": ("I",), "inspiration": ("I",), "e": ("E",), "exhalation": ("E",),
    "expiration": ("E",), "d": ("D",), "das": ("D",), "crackle": ("D",), "crackles": ("D",),
    "fine crackle": ("D",), "coarse crackle": ("D",), "c": ("C",), "cas": ("C",),
    "wheeze": ("Wheeze",), "stridor": ("Stridor",), "rhonchi": ("Rhonchi",), "rhonchus": ("Rhonchi",),
    "wheeze+crackle": ("Wheeze", "D"), "both": ("Wheeze", "D"), "normal": (),
}


def parse_time(token: str, *, path, line: int, field: str) -> float:
    m = _TIME.match(token)
    if not m:
        raise AnnotationFormatError(f"{token!r} is not a time HH:MM:SS.mmm", path=path, line=line, field=field)
    h, mi, s = m.groups()
    if int(mi) >= 60 or float(s) >= 60:
        raise AnnotationFormatError(f"{token!r} is not a time HH:MM:SS.mmm (minutes and seconds below 60)",
                                    path=path, line=line, field=field)
    return int(h) * 3600 + int(mi) * 60 + float(s)


def fmt_time(t_s: float) -> str:
    ms = int(round(t_s * 1000.0))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def parse_hflung(text: str, path: str | Path = "<memory>") -> AnnotationSet:
    segs = []
    for n, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        cols = line.split()
        if len(cols) != 3:
            raise AnnotationFormatError(f"expected 3 columns 'TYPE HH:MM:SS.mmm HH:MM:SS.mmm', got {len(cols)}: "
                                        f"{line.strip()[:60]!r}", path=path, line=n)
        start = parse_time(cols[1], path=path, line=n, field="start")
        end = parse_time(cols[2], path=path, line=n, field="end")
        if end < start:
            raise AnnotationFormatError(f"end {cols[2]} is before start {cols[1]}", path=path, line=n)
        segs.append(Segment(start, end, cols[0]))
    keys = [(s.start_s, s.end_s) for s in segs]
    shape = {"order": "sorted" if keys == sorted(keys) else "as_read", "crlf": "\r\n" in text}
    return AnnotationSet(segs, None, {"source_format": "hflung", "hflung_shape": shape})


def read_hflung(path: str | Path) -> AnnotationSet:
    return parse_hflung(read_text(path), path)


def hflung_types(label: str) -> tuple[str, ...] | None:
    """The HF_Lung type(s) a label is written as: () for Normal (left out), None if it has none."""
    key = normalize(label)
    if key in _TYPE_OF:
        return _TYPE_OF[key]
    if label.strip() and not any(c.isspace() for c in label):
        return (label,)
    return None


def hflung_mapping(annotations: AnnotationSet) -> tuple[dict[str, str], int]:
    """({label: written type(s)} for the labels writing changes, number of segments left out)."""
    mapped, dropped = {}, 0
    for s in annotations.segments:
        t = hflung_types(s.label)
        if t == ():
            dropped += 1
        elif t and t != (s.label,):
            mapped[s.label] = " + ".join(t)
    return mapped, dropped


def dumps_hflung(annotations: AnnotationSet, *, path: str | Path = "<memory>") -> str:
    """Lines sorted by onset, unless the set was read from an HF_Lung file that listed them in
    another order (e.g. phases first, then events): then in that order, with its line ends."""
    shape = annotations.metadata.get("hflung_shape")
    shape = shape if isinstance(shape, dict) else {}
    segs = list(annotations.segments) if shape.get("order") == "as_read" else annotations.sorted_segments()
    nl = "\r\n" if shape.get("crlf") is True else "\n"
    lines = []
    for s in segs:
        types = hflung_types(s.label)
        if types is None:
            raise AnnotationFormatError(f"label {s.label!r} has no HF_Lung type ({', '.join(TYPES)}) and, having "
                                        "spaces, cannot be written as its own", path=path, field="label")
        for t in types:
            lines.append(f"{t} {fmt_time(s.start_s)} {fmt_time(s.end_s)}{nl}")
    return "".join(lines)


def write_hflung(path: str | Path, annotations: AnnotationSet) -> None:
    atomic_write_text(path, dumps_hflung(annotations, path=path))
