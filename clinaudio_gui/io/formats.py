"""One registry of the annotation formats (napari-style readers/writers in one place).

``read_annotations`` / ``write_annotations`` choose the format by extension; where an
extension is ambiguous (``.txt``: ICBHI cycles, Audacity label track or Raven table;
``.json``: SPRSound or native ClinAudio) the content decides. Writes are atomic: the whole
text is built first, then written to a temp file and renamed, so a failed conversion leaves
no output and never touches the input.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.errors import AnnotationFormatError
from clinaudio_gui.core.project import SIDECAR_SUFFIX, sidecar_path
from clinaudio_gui.io._text import read_text, split_lines
from clinaudio_gui.io.audacity import dumps_audacity, parse_audacity
from clinaudio_gui.io.csvfmt import dumps_csv, looks_like_csv_header, parse_csv
from clinaudio_gui.io.icbhi import dumps_icbhi, parse_icbhi
from clinaudio_gui.io.native import dumps_native, parse_native
from clinaudio_gui.io.raven import dumps_raven, is_raven_header, parse_raven
from clinaudio_gui.io.sprsound import dumps_sprsound, file_stem, load_json, parse_sprsound
from clinaudio_gui.io.textgrid import dumps_textgrid, parse_textgrid

FORMATS = ("sprsound", "icbhi", "audacity", "textgrid", "raven", "csv")
NATIVE_FORMAT = "clinaudio"
ALL_FORMATS = FORMATS + (NATIVE_FORMAT,)
# what each format can hold besides times and labels
CARRIES_RECORD_LABEL = frozenset({"sprsound", "textgrid", "csv", NATIVE_FORMAT})
CARRIES_BOX = frozenset({"audacity", "raven", "csv", NATIVE_FORMAT})
# time resolution a format stores (None: full float precision)
TIME_RESOLUTION_S = {"sprsound": 0.001}
# formats with a fixed label vocabulary
FIXED_LABELS = {"icbhi": ("normal", "crackle", "wheeze", "both")}

_JSON_FORMATS = ("sprsound", NATIVE_FORMAT)
_MAY_BE_EMPTY = ("icbhi", "audacity")   # zero cycles / labels is an empty file
_ICBHI_LINE = re.compile(r"^\s*[-+0-9.eE]+[ \t]+[-+0-9.eE]+[ \t]+[01][ \t]+[01]\s*$")
_AUDACITY_LINE = re.compile(r"^\s*[-+0-9.,eE]+\s*\t\s*[-+0-9.,eE]+\s*(\t.*)?$")


def _check_fmt(fmt: str, path) -> str:
    f = fmt.strip().lower()
    if f == "native":
        f = NATIVE_FORMAT
    if f not in ALL_FORMATS:
        raise AnnotationFormatError(f"unknown annotation format {fmt!r} (use one of {', '.join(ALL_FORMATS)})",
                                    path=path)
    return f


def _json_kind(data: object, path) -> str:
    if isinstance(data, dict):
        if "segments" in data or "clinaudio_annotations" in data:
            return NATIVE_FORMAT
        if {"record_annotation", "recording_annotation", "event_annotation"} & set(data):
            return "sprsound"
    raise AnnotationFormatError("JSON is neither SPRSound (record_annotation / event_annotation) nor "
                                "ClinAudio (segments)", path=path)


def sniff_text(text: str, path="<memory>") -> str:
    """The format of an annotation text by its content (for .txt and unknown extensions)."""
    lines = [ln for ln in split_lines(text) if ln.strip()]
    if not lines:
        return "audacity"       # an empty label track
    head = lines[0].strip()
    if head.startswith(("File type", '"ooTextFile"')) or head == "ooTextFile":
        return "textgrid"
    if head.startswith(("{", "[")):
        try:
            return _json_kind(json.loads(text), path)
        except (ValueError, RecursionError):
            raise AnnotationFormatError("looks like JSON but does not parse", path=path, line=1) from None
    if is_raven_header(lines[0]):
        return "raven"
    if looks_like_csv_header(lines[0]):
        return "csv"
    sample = lines[:200]
    if all(_ICBHI_LINE.match(ln) for ln in sample):
        return "icbhi"
    if _AUDACITY_LINE.match(lines[0]):
        return "audacity"
    raise AnnotationFormatError(f"cannot tell the annotation format from the content (first line "
                                f"{head[:60]!r}); give the format explicitly (--from)", path=path, line=1)


def _suffix_format(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(SIDECAR_SUFFIX):
        return NATIVE_FORMAT
    if name.endswith(".selections.txt"):
        return "raven"
    return {".textgrid": "textgrid", ".csv": "csv", ".json": "json"}.get(path.suffix.lower())


def detect_format(path: str | Path, *, for_writing: bool = False) -> str:
    """The format of ``path``: by extension, sniffing the content for .json and .txt.
    For writing (no content yet) ``.json`` means SPRSound and ``.txt`` needs an explicit format."""
    path = Path(path)
    fmt = _suffix_format(path)
    if for_writing:
        if fmt == "json":
            return "sprsound"
        if fmt is None:
            raise AnnotationFormatError(f"the extension {path.suffix or '(none)'!r} does not say which format to "
                                        f"write ({', '.join(FORMATS)}); give the format explicitly (--to)", path=path)
        return fmt
    if fmt is not None and fmt != "json":
        return fmt
    text = read_text(path, allow_empty=fmt is None)
    if fmt == "json":
        return _json_kind(_loads(text, path), path)
    return sniff_text(text, path)


def _loads(text: str, path) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise AnnotationFormatError(f"invalid JSON: {e.msg} (column {e.colno})", path=path, line=e.lineno) from None
    except (ValueError, RecursionError) as e:
        raise AnnotationFormatError(f"invalid JSON: {str(e)[:120]}", path=path) from None


_TEXT_PARSERS = {"icbhi": parse_icbhi, "audacity": parse_audacity, "textgrid": parse_textgrid,
                 "raven": parse_raven, "csv": parse_csv}


def read_annotations(path: str | Path, fmt: str | None = None, *,
                     audio_duration_s: float | None = None) -> AnnotationSet:
    """An AnnotationSet from any supported file. Malformed input raises AnnotationFormatError naming
    the file and the line or field; nothing else escapes. ``audio_duration_s`` is recorded in the
    metadata (``duration_s``) so that a later TextGrid export spans the whole recording."""
    path = Path(path)
    text = read_text(path, allow_empty=True)
    data = None
    try:
        if fmt is None:
            kind = _suffix_format(path)
            if kind == "json":
                data = _loads(text, path)
                fmt = _json_kind(data, path)
            else:
                fmt = kind if kind is not None else sniff_text(text, path)
        fmt = _check_fmt(fmt, path)
        if not text.strip() and fmt not in _MAY_BE_EMPTY:
            raise AnnotationFormatError(f"file is empty (an empty {fmt} file is not valid)", path=path)
        if fmt in _JSON_FORMATS:
            data = _loads(text, path) if data is None else data
            a = parse_sprsound(data, path) if fmt == "sprsound" else parse_native(data, path)
        else:
            a = _TEXT_PARSERS[fmt](text, path)
    except AnnotationFormatError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError, RecursionError) as e:
        # a last guard: a reader bug must still come out as the project's error, naming the file
        raise AnnotationFormatError(f"malformed {fmt or 'annotation'} file ({type(e).__name__}: {e})"[:300],
                                    path=path) from None
    return _with_duration(a, audio_duration_s)


def _with_duration(a: AnnotationSet, audio_duration_s: float | None) -> AnnotationSet:
    if audio_duration_s is not None:
        md = a.metadata
        md["duration_s"] = float(audio_duration_s)
        a = AnnotationSet(list(a.segments), a.record_label, md)
    return a


def dumps_annotations(annotations: AnnotationSet, fmt: str, *, audio_duration_s: float | None = None,
                      path: str | Path = "<memory>") -> str:
    """The file text of ``annotations`` in ``fmt`` (raises before anything is written)."""
    fmt = _check_fmt(fmt, path)
    if fmt == "sprsound":
        return dumps_sprsound(annotations)
    if fmt == NATIVE_FORMAT:
        return dumps_native(annotations)
    if fmt == "icbhi":
        return dumps_icbhi(annotations, path=path)
    if fmt == "audacity":
        return dumps_audacity(annotations, path=path)
    if fmt == "textgrid":
        return dumps_textgrid(annotations, audio_duration_s=audio_duration_s, path=path)
    if fmt == "raven":
        return dumps_raven(annotations, path=path)
    return dumps_csv(annotations, path=path)


def write_annotations(path: str | Path, annotations: AnnotationSet, fmt: str | None = None, *,
                      audio_duration_s: float | None = None) -> Path:
    """Atomic write in ``fmt`` (default: from the extension). Returns the path."""
    path = Path(path)
    fmt = detect_format(path, for_writing=True) if fmt is None else _check_fmt(fmt, path)
    text = dumps_annotations(annotations, fmt, audio_duration_s=audio_duration_s, path=path)
    try:
        atomic_write_text(path, text)
    except OSError as e:
        raise AnnotationFormatError(f"cannot write: {e.strerror or e}", path=path) from None
    return path


ANNOTATION_SUFFIXES = (".json", ".TextGrid", ".textgrid", ".txt", ".csv", ".Table.1.selections.txt",
                       ".selections.txt")


def annotation_candidates(audio_path: str | Path) -> list[Path]:
    """Where annotations of ``audio_path`` may be, in order of preference."""
    audio_path = Path(audio_path)
    stem = file_stem(audio_path)
    out = [sidecar_path(audio_path)]
    own = audio_path.with_name(stem + SIDECAR_SUFFIX)
    if own not in out:
        out.append(own)
    out += [audio_path.with_name(stem + suf) for suf in ANNOTATION_SUFFIXES]
    return out


def find_annotation_for(audio_path: str | Path, *, names: set[str] | None = None) -> Path | None:
    """The native sidecar if there is one, else a same-stem file of a known format next to the
    recording (SPRSound .json, ICBHI/Audacity .txt, .TextGrid, .csv, Raven table), else None.
    ``names`` (the folder's file names) saves the stat calls when scanning a big folder."""
    for p in annotation_candidates(audio_path):
        if (p.name in names) if names is not None else p.is_file():
            return p
    return None
