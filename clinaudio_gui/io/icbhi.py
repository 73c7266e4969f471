"""ICBHI 2017 respiratory-cycle annotations: one cycle a line, ``start end crackle wheeze``
(seconds, tab-separated, flags 0/1), e.g. ``0.364\\t3.25\\t0\\t1``.

Flags map to the ICBHI cycle schema: (0,0) normal, (1,0) crackle, (0,1) wheeze, (1,1) both.
The format has no record label. Writing other labels maps the SPRSound event classes onto
the flags (crackles -> crackle, wheeze/rhonchi/stridor -> wheeze, Wheeze+Crackle -> both);
that is lossy by nature, so :func:`icbhi_mapping` tells the caller what was mapped. A label
with no such meaning is refused rather than guessed.
"""
from __future__ import annotations

import re
from pathlib import Path

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.errors import AnnotationFormatError
from clinaudio_gui.core.segment import Segment
from clinaudio_gui.io._text import fmt_number, parse_number, read_text, split_lines

FLAGS_TO_LABEL = {(0, 0): "normal", (1, 0): "crackle", (0, 1): "wheeze", (1, 1): "both"}
LABEL_TO_FLAGS = {v: k for k, v in FLAGS_TO_LABEL.items()}
# other label names (lower case) with an unambiguous ICBHI meaning
ALIASES = {"normal": "normal", "crackle": "crackle", "crackles": "crackle", "fine crackle": "crackle",
           "coarse crackle": "crackle", "das": "crackle", "wheeze": "wheeze", "wheezes": "wheeze",
           "rhonchi": "wheeze", "stridor": "wheeze", "cas": "wheeze", "both": "both",
           "wheeze+crackle": "both", "wheeze & crackle": "both", "crackle+wheeze": "both",
           "cas & das": "both"}
_WS = re.compile(r"[ \t]+")


def parse_icbhi(text: str, path: str | Path = "<memory>") -> AnnotationSet:
    segs = []
    for n, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        cols = _WS.split(line.strip())
        if len(cols) != 4:
            raise AnnotationFormatError(f"expected 4 columns 'start end crackle wheeze', got {len(cols)}: "
                                        f"{line.strip()[:60]!r}", path=path, line=n)
        start = parse_number(cols[0], path=path, line=n, field="start", what="a time in seconds")
        end = parse_number(cols[1], path=path, line=n, field="end", what="a time in seconds")
        if end < start:
            raise AnnotationFormatError(f"end {cols[1]} is before start {cols[0]}", path=path, line=n)
        flags = []
        for name, tok in (("crackle", cols[2]), ("wheeze", cols[3])):
            if tok not in ("0", "1"):
                raise AnnotationFormatError(f"{name} flag must be 0 or 1, got {tok!r}", path=path, line=n,
                                            field=name)
            flags.append(int(tok))
        segs.append(Segment(start, end, FLAGS_TO_LABEL[tuple(flags)]))
    return AnnotationSet(segs, None, {"source_format": "icbhi"})


def read_icbhi(path: str | Path) -> AnnotationSet:
    return parse_icbhi(read_text(path), path)


def icbhi_label(label: str) -> str | None:
    """The ICBHI cycle class a label stands for, or None."""
    return ALIASES.get(" ".join(label.lower().split()))


def icbhi_mapping(annotations: AnnotationSet) -> dict[str, str]:
    """{original label: ICBHI label} for the labels that writing would change."""
    return {s.label: icbhi_label(s.label) for s in annotations.segments
            if icbhi_label(s.label) and icbhi_label(s.label) != s.label}


def dumps_icbhi(annotations: AnnotationSet, *, path: str | Path = "<memory>") -> str:
    lines = []
    for s in annotations.sorted_segments():
        lab = icbhi_label(s.label)
        if lab is None:
            raise AnnotationFormatError(f"label {s.label!r} has no ICBHI meaning (normal, crackle, wheeze, both)",
                                        path=path, field="label")
        c, w = LABEL_TO_FLAGS[lab]
        lines.append(f"{fmt_number(s.start_s)}\t{fmt_number(s.end_s)}\t{c}\t{w}\n")
    return "".join(lines)


def write_icbhi(path: str | Path, annotations: AnnotationSet) -> None:
    atomic_write_text(path, dumps_icbhi(annotations, path=path))
