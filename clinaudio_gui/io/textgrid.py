"""Praat TextGrid, long ("ooTextFile" with ``name = value`` lines) and short text forms.

Reading follows Praat's own text reader (sys/abcio.cpp): the file is a stream of numbers,
"strings" (a doubled "" is one quote; strings may span lines) and <flags>; everything else
(``xmin =``, ``item [1]:``, any other word) is skipped up to the next white space, and ``!``
starts a comment to the end of the line. Accepted as Praat accepts them: both text forms, the
old ``"ooTextFile short"`` header, numbers written as fractions (``1/3``), UTF-8 (BOM or not),
UTF-16 with a BOM, and, when a file is not valid UTF-8, ISO Latin-1 (Praat's default reading
preference). Every interval tier gives segments (empty intervals skipped); every point tier
(``TextTier``) gives zero-length segments at its marked points; the tier named ``record``
carries the record label. Tier names are not kept (a segment has no tier).

Writing (long form): the segments go to interval tiers ``events`` (overlapping segments spill
into ``events 2``, ``events 3`` ... since a tier's intervals cannot overlap), gaps are empty
intervals, and the record label is the single interval of its own ``record`` tier. ``xmax`` is
the audio duration when known, else the last segment end. Zero-length segments cannot be an
interval; they are written as points of a ``points`` tier and read back as zero-length segments.
Frequency boxes, annotator, source, confidence and note have no place in a TextGrid.
"""
from __future__ import annotations

import math
from pathlib import Path

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.errors import AnnotationFormatError
from clinaudio_gui.core.segment import Segment
from clinaudio_gui.io._text import fmt_number, parse_number, read_text

RECORD_TIER = "record"
RECORD_TIER_ALIASES = ("record", "record_label", "record label")
EVENT_TIER = "events"
POINT_TIER = "points"


class _Tok:
    __slots__ = ("kind", "value", "line")

    def __init__(self, kind: str, value: str, line: int):
        self.kind, self.value, self.line = kind, value, line


def _tokenize(text: str, path) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif c == '"':
            start_line = line
            j = i + 1
            parts = []
            while True:
                k = text.find('"', j)
                if k < 0:
                    raise AnnotationFormatError("unterminated string", path=path, line=start_line)
                parts.append(text[j:k])
                if k + 1 < n and text[k + 1] == '"':   # "" is an escaped quote
                    parts.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            s = "".join(parts)
            line += s.count("\n")
            toks.append(_Tok("str", s, start_line))
        elif c == "!":                                  # comment to end of line
            k = text.find("\n", i)
            i = n if k < 0 else k
        elif c == "<":
            k = text.find(">", i)
            if k < 0 or "\n" in text[i:k]:
                raise AnnotationFormatError("unterminated <flag>", path=path, line=line)
            toks.append(_Tok("flag", text[i + 1:k], line))
            i = k + 1
        elif c == "[":                                  # item [1]: / intervals [3]:
            k = text.find("]", i)
            if k < 0 or "\n" in text[i:k]:             # no "]" on the line: a word, skipped as Praat does
                k = i
                while k < n and not text[k].isspace():
                    k += 1
                k -= 1
            i = k + 1
        elif c.isdigit() or c in "+-.":
            j = i
            while j < n and not text[j].isspace():
                j += 1
            toks.append(_Tok("num", text[i:j], line))
            i = j
        elif c.isalpha() or c == "_":                   # a label such as xmin, tiers?, intervals:
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_?"):
                j += 1
            i = j
        elif c in "=:":
            i += 1
        else:                                           # any other word: skipped, as Praat does
            j = i
            while j < n and not text[j].isspace():
                j += 1
            i = j
    return toks


class _Stream:
    def __init__(self, toks: list[_Tok], path):
        self.toks, self.i, self.path = toks, 0, path

    def _next(self, what: str) -> _Tok:
        if self.i >= len(self.toks):
            last = self.toks[-1].line if self.toks else None
            raise AnnotationFormatError(f"file ends early, expected {what}", path=self.path, line=last)
        t = self.toks[self.i]
        self.i += 1
        return t

    def string(self, what: str) -> str:
        t = self._next(what)
        if t.kind != "str":
            raise AnnotationFormatError(f"expected {what} (a quoted string), got {t.value[:40]!r}",
                                        path=self.path, line=t.line)
        return t.value

    def number(self, what: str, minimum: float | None = None) -> float:
        t = self._next(what)
        if t.kind != "num":
            raise AnnotationFormatError(f"expected {what} (a number), got {t.value[:40]!r}", path=self.path,
                                        line=t.line)
        value = t.value
        if "/" in value:                                # Praat reads "1/3" as a fraction
            num, _, den = value.partition("/")
            a = parse_number(num, path=self.path, line=t.line, field=what, what=what, minimum=None)
            b = parse_number(den, path=self.path, line=t.line, field=what, what=what, minimum=None)
            if b == 0:
                raise AnnotationFormatError(f"{value!r}: division by zero", path=self.path, line=t.line, field=what)
            value = repr(a / b)
        return parse_number(value, path=self.path, line=t.line, field=what, what=what, minimum=minimum)

    def count(self, what: str) -> int:
        t = self.toks[self.i] if self.i < len(self.toks) else None
        v = self.number(what, minimum=0)
        if v != int(v) or v > 10_000_000:
            raise AnnotationFormatError(f"{what} must be a whole number, got {v!r}", path=self.path,
                                        line=t.line if t else None)
        return int(v)

    def line(self) -> int | None:
        return self.toks[min(self.i, len(self.toks) - 1)].line if self.toks else None


def parse_textgrid(text: str, path: str | Path = "<memory>") -> AnnotationSet:
    toks = _tokenize(text, path)
    st = _Stream(toks, path)
    if st.string("file type") not in ("ooTextFile", "ooTextFile short"):
        raise AnnotationFormatError("not a Praat text file (File type must be \"ooTextFile\"; binary TextGrids "
                                    "are not supported)", path=path, line=1)
    if st.string("object class").split(" ")[0] != "TextGrid":
        raise AnnotationFormatError("object class is not \"TextGrid\"", path=path, line=2)
    xmin = st.number("xmin")
    xmax = st.number("xmax")
    if xmax < xmin:
        raise AnnotationFormatError(f"xmax {xmax} is before xmin {xmin}", path=path, line=st.line())
    t = st._next("<exists>")
    if t.kind != "flag" or t.value not in ("exists", "absent"):
        raise AnnotationFormatError(f"expected <exists> or <absent>, got {t.value[:40]!r}", path=path, line=t.line)
    n_tiers = st.count("tier count") if t.value == "exists" else 0
    segs: list[Segment] = []
    record: str | None = None
    tier_names = []
    for k in range(n_tiers):
        cls = st.string(f"class of tier {k + 1}")
        name = st.string(f"name of tier {k + 1}")
        tier_names.append(name)
        st.number("tier xmin", minimum=None)
        st.number("tier xmax", minimum=None)
        n_items = st.count(f"size of tier {name!r}")
        if cls == "IntervalTier":
            is_record = name.strip().lower() in RECORD_TIER_ALIASES
            for _ in range(n_items):
                ln = st.line()
                a = st.number("interval xmin")
                b = st.number("interval xmax")
                label = st.string("interval text")
                if b < a:
                    raise AnnotationFormatError(f"interval ends ({b}) before it starts ({a})", path=path, line=ln)
                if not label.strip():
                    continue
                if is_record:
                    if record is not None and record != label.strip():
                        raise AnnotationFormatError(f"record tier {name!r} holds two labels: {record!r} and "
                                                    f"{label.strip()!r}", path=path, line=ln)
                    record = label.strip()
                else:
                    segs.append(Segment(a, b, label))
        elif cls == "TextTier":
            for _ in range(n_items):
                ln = st.line()
                a = st.number("point time")
                label = st.string("point mark")
                if label.strip():
                    segs.append(Segment(a, a, label))
        else:
            raise AnnotationFormatError(f"unknown tier class {cls!r}", path=path, line=st.line())
    if st.i < len(toks):
        raise AnnotationFormatError(f"unexpected data after the last tier: {toks[st.i].value[:40]!r}",
                                    path=path, line=toks[st.i].line)
    return AnnotationSet(segs, record, {"source_format": "textgrid", "duration_s": xmax,
                                        "textgrid_tiers": tier_names})


def read_textgrid(path: str | Path) -> AnnotationSet:
    return parse_textgrid(read_text(path, fallback="latin-1"), path)


def _q(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _tiers_of(segments: list[Segment]) -> list[list[Segment]]:
    """Greedy interval partitioning: each segment goes to the first tier where it fits."""
    tiers: list[list[Segment]] = []
    for s in sorted(segments, key=lambda s: (s.start_s, s.end_s)):
        for tier in tiers:
            if tier[-1].end_s <= s.start_s:
                tier.append(s)
                break
        else:
            tiers.append([s])
    return tiers


def dumps_textgrid(annotations: AnnotationSet, *, audio_duration_s: float | None = None,
                   path: str | Path = "<memory>") -> str:
    segs = list(annotations.segments)
    intervals = [s for s in segs if s.end_s > s.start_s]
    points = sorted((s for s in segs if s.end_s == s.start_s), key=lambda s: s.start_s)
    last_end = max((s.end_s for s in segs), default=0.0)
    duration = audio_duration_s
    if duration is None:
        md = annotations.metadata.get("duration_s")
        duration = float(md) if isinstance(md, (int, float)) and not isinstance(md, bool) else None
    if duration is None or not math.isfinite(duration) or duration < 0:
        duration = 0.0
    xmax = max(last_end, duration)
    if xmax <= 0:
        xmax = 1.0  # an empty TextGrid still needs a positive extent; Praat refuses xmax <= xmin
    tiers: list[tuple[str, str, list]] = []
    for k, tier in enumerate(_tiers_of(intervals) or [[]]):
        name = EVENT_TIER if k == 0 else f"{EVENT_TIER} {k + 1}"
        items, t = [], 0.0
        for s in tier:
            if s.start_s > t:
                items.append((t, s.start_s, ""))
            items.append((s.start_s, s.end_s, s.label))
            t = s.end_s
        if t < xmax:
            items.append((t, xmax, ""))
        tiers.append(("IntervalTier", name, items))
    tiers.append(("IntervalTier", RECORD_TIER, [(0.0, xmax, annotations.record_label or "")]))
    if points:
        tiers.append(("TextTier", POINT_TIER, [(s.start_s, s.label) for s in points]))
    out = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "",
           "xmin = 0", f"xmax = {fmt_number(xmax)}", "tiers? <exists>", f"size = {len(tiers)}", "item []:"]
    for k, (cls, name, items) in enumerate(tiers, 1):
        out += [f"    item [{k}]:", f"        class = {_q(cls)}", f"        name = {_q(name)}",
                "        xmin = 0", f"        xmax = {fmt_number(xmax)}"]
        if cls == "IntervalTier":
            out.append(f"        intervals: size = {len(items)}")
            for j, (a, b, lab) in enumerate(items, 1):
                out += [f"        intervals [{j}]:", f"            xmin = {fmt_number(a)}",
                        f"            xmax = {fmt_number(b)}", f"            text = {_q(lab)}"]
        else:
            out.append(f"        points: size = {len(items)}")
            for j, (a, lab) in enumerate(items, 1):
                out += [f"        points [{j}]:", f"            number = {fmt_number(a)}",
                        f"            mark = {_q(lab)}"]
    return "\n".join(out) + "\n"


def write_textgrid(path: str | Path, annotations: AnnotationSet, *, audio_duration_s: float | None = None) -> None:
    atomic_write_text(path, dumps_textgrid(annotations, audio_duration_s=audio_duration_s, path=path))
