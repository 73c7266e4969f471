"""Shared helpers of the annotation readers/writers: decoding, numbers, time formatting."""
from __future__ import annotations

import math
import re

import numpy as np
from pathlib import Path

from clinaudio_gui.core.errors import AnnotationFormatError

_EOL = re.compile(r"\r\n|\r|\n")


def read_text(path: str | Path, *, allow_empty: bool = False, fallback: str | None = None) -> str:
    """The file as text: UTF-8 (BOM allowed), or UTF-16 when it starts with a UTF-16 BOM
    (Praat writes UTF-16 as soon as a label has a non-ASCII character). ``fallback`` (e.g.
    "latin-1", what Praat falls back to) decodes a file that is not valid UTF-8."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise AnnotationFormatError(f"cannot read: {e.strerror or e}", path=path) from None
    if not raw and not allow_empty:
        raise AnnotationFormatError("file is empty", path=path)
    try:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw.decode("utf-16")
        else:
            text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if fallback and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw.decode(fallback, errors="strict")
            if "\x00" in text:
                raise AnnotationFormatError("binary data (NUL characters) in a text annotation file", path=path)
            return text
        raise AnnotationFormatError(f"not UTF-8/UTF-16 text (byte {e.start}: {e.reason})", path=path) from None
    if "\x00" in text:
        raise AnnotationFormatError("binary data (NUL characters) in a text annotation file", path=path)
    return text


def parse_number(token: str, *, path, line: int | None = None, field: str | None = None,
                 what: str = "a number", minimum: float | None = 0.0) -> float:
    """float(token), finite (and >= minimum), else AnnotationFormatError repeating the bad value."""
    try:
        v = float(token)
    except (TypeError, ValueError, OverflowError):
        raise AnnotationFormatError(f"{token!r} is not {what}", path=path, line=line, field=field) from None
    if not math.isfinite(v):
        raise AnnotationFormatError(f"{token!r} is not {what} (not finite)", path=path, line=line, field=field)
    if minimum is not None and v < minimum:
        raise AnnotationFormatError(f"{token!r} is not {what} >= {minimum:g}", path=path, line=line, field=field)
    return v


def fmt_number(t: float) -> str:
    """Shortest text that reads back to the very same float, never in exponent form
    (1.234, 0.000001, 3): other tools (Praat, Audacity, Raven) do not all read exponents."""
    s = np.format_float_positional(float(t), unique=True, trim="-")
    return "0" if s == "-0" else s


def split_lines(text: str) -> list[str]:
    """Lines without their endings (\\n, \\r\\n or \\r); unlike str.splitlines, form feeds and
    other separators stay inside a line, so line numbers match what an editor shows."""
    lines = _EOL.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines
