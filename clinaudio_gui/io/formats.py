"""One registry of the annotation formats (napari-style readers/writers in one place).

``read_annotations`` / ``write_annotations`` choose the format: the content decides when it can
(:func:`guess_format`: a TextGrid header, SPRSound or ClinAudio JSON keys, a Raven or CSV header,
ICBHI cycle lines, HF_Lung label lines, Audacity label lines), the extension where the content
cannot (an empty file, a malformed one: its own reader then names the problem). Labels are
mapped onto the active schema on import (:mod:`clinaudio_gui.io.labelmap`). Writes are atomic:
the whole text is built first, then written to a temp file and renamed, so a failed conversion
leaves no output and never touches the input.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.errors import AnnotationFormatError
from clinaudio_gui.core.project import SIDECAR_SUFFIX, sidecar_path
from clinaudio_gui.core.schema import LabelSchema
from clinaudio_gui.io._text import read_text, split_lines
from clinaudio_gui.io.audacity import dumps_audacity, parse_audacity
from clinaudio_gui.io.csvfmt import dumps_csv, looks_like_csv_header, parse_csv
from clinaudio_gui.io.hflung import LINE as _HFLUNG_LINE
from clinaudio_gui.io.hflung import dumps_hflung, parse_hflung
from clinaudio_gui.io.icbhi import dumps_icbhi, parse_icbhi
from clinaudio_gui.io.labelmap import DEFAULT_SCHEMA, map_to_schema
from clinaudio_gui.io.native import dumps_native, parse_native
from clinaudio_gui.io.raven import dumps_raven, is_raven_header, parse_raven
from clinaudio_gui.io.sprsound import dumps_sprsound, file_stem, parse_sprsound
from clinaudio_gui.io.textgrid import dumps_textgrid, parse_textgrid

FORMATS = ("sprsound", "icbhi", "hflung", "audacity", "textgrid", "raven", "csv")
NATIVE_FORMAT = "clinaudio"
ALL_FORMATS = FORMATS + (NATIVE_FORMAT,)
# what each format can hold besides times and labels
CARRIES_RECORD_LABEL = frozenset({"sprsound", "textgrid", "csv", NATIVE_FORMAT})
CARRIES_BOX = frozenset({"audacity", "raven", "csv", NATIVE_FORMAT})
# time resolution a format stores (None: full float precision)
TIME_RESOLUTION_S = {"sprsound": 0.001, "hflung": 0.001}
# formats with a fixed label vocabulary
FIXED_LABELS = {"icbhi": ("normal", "crackle", "wheeze", "both"),
                "hflung": ("I", "E", "D", "C", "Wheeze", "Stridor", "Rhonchi")}

_JSON_FORMATS = ("sprsound", NATIVE_FORMAT)
_MAY_BE_EMPTY = ("icbhi", "audacity", "hflung")   # zero cycles / labels is an empty file
_ICBHI_LINE = re.compile(r"^\s*[-+0-9.eE]+[ \t]+[-+0-9.eE]+[ \t]+[01][ \t]+[01]\s*$")
_ICBHI_LIKE = re.compile(r"^\s*[-+0-9.eE]+[ \t]+[-+0-9.eE]+[ \t]+\d+[ \t]+\d+\s*$")   # a bad flag still ICBHI
_AUDACITY_LINE = re.compile(r"^[ \t]*[-+0-9.,eE]+[ \t]+[-+0-9.,eE]+(?:[ \t].*)?$")


def _check_fmt(fmt: str, path) -> str:
    f = fmt.strip().lower()
    if f == "native":
        f = NATIVE_FORMAT
    if f in ("hf_lung", "hf-lung"):
        f = "hflung"
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


def _sniff(text: str, path) -> tuple[str, str] | None:
    """(format, what in the content says so), or None when the content does not tell."""
    lines = [ln for ln in split_lines(text) if ln.strip()]
    if not lines:
        return None
    head = lines[0].strip()
    if head.startswith(("File type", '"ooTextFile')) or head == "ooTextFile":
        return "textgrid", "a Praat TextGrid header"
    if head.startswith(("{", "[")):
        kind = _json_kind(_loads(text, path), path)
        return kind, ("SPRSound keys (record_annotation / event_annotation)" if kind == "sprsound"
                      else "ClinAudio JSON (segments)")
    if is_raven_header(lines[0]):
        return "raven", "a Raven selection-table header (Begin Time (s), End Time (s))"
    if looks_like_csv_header(lines[0]):
        return "csv", "a CSV header with start_s,end_s,label"
    sample = lines[:200]
    if _ICBHI_LINE.match(lines[0]) and all(_ICBHI_LIKE.match(ln) for ln in sample):
        return "icbhi", "lines 'start end crackle wheeze' (ICBHI cycles)"
    if _HFLUNG_LINE.match(lines[0]):
        return "hflung", "lines 'TYPE HH:MM:SS.mmm HH:MM:SS.mmm' (HF_Lung labels)"
    if _AUDACITY_LINE.match(lines[0]):
        return "audacity", "lines 'start end label' (an Audacity label track)"
    return None


def sniff_text(text: str, path="<memory>") -> str:
    """The format of an annotation text by its content alone."""
    if not text.strip():
        return "audacity"       # an empty label track
    hit = _sniff(text, path)
    if hit is None:
        head = next(ln for ln in split_lines(text) if ln.strip()).strip()
        raise AnnotationFormatError(f"cannot tell the annotation format from the content (first line "
                                    f"{head[:60]!r}); give the format explicitly (--from)", path=path, line=1)
    return hit[0]


def _suffix_format(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(SIDECAR_SUFFIX):
        return NATIVE_FORMAT
    if name.endswith(".selections.txt"):
        return "raven"
    if name.endswith("_label.txt"):      # HF_Lung's naming: steth_20190701_10_21_48_label.txt
        return "hflung"
    return {".textgrid": "textgrid", ".csv": "csv", ".json": "json"}.get(path.suffix.lower())


def guess_format(path: str | Path, text: str | None = None) -> tuple[str, str]:
    """(format, why) for reading ``path``: the ClinAudio sidecar name, else the content, else
    (empty or unrecognisable content) the extension. ``why`` says what decided, for the user."""
    path = Path(path)
    suffix = _suffix_format(path)
    if suffix == NATIVE_FORMAT:
        return NATIVE_FORMAT, f"the name ({SIDECAR_SUFFIX})"
    if text is None:
        text = read_text(path, allow_empty=True, fallback="latin-1" if suffix == "textgrid" else None)
    ext = path.suffix or "(none)"
    if not text.strip():
        if suffix == "json":
            raise AnnotationFormatError("file is empty (an empty JSON file is not valid)", path=path)
        return (suffix or "audacity"), f"the extension {ext} (the file is empty)"
    hit = _sniff(text, path)
    if hit is not None:
        return hit[0], f"the content: {hit[1]}"
    if suffix is not None and suffix != "json":
        return suffix, f"the extension {ext} (the content matched no format)"
    sniff_text(text, path)          # raises the "cannot tell" error
    raise AssertionError("unreachable")


def detect_format(path: str | Path, *, for_writing: bool = False) -> str:
    """The format of ``path``: for reading by :func:`guess_format`; for writing (no content yet)
    by the extension, ``.json`` meaning SPRSound and ``.txt`` needing an explicit format."""
    path = Path(path)
    if for_writing:
        fmt = _suffix_format(path)
        if fmt == "json":
            return "sprsound"
        if fmt is None:
            raise AnnotationFormatError(f"the extension {path.suffix or '(none)'!r} does not say which format to "
                                        f"write ({', '.join(FORMATS)}); give the format explicitly (--to)", path=path)
        return fmt
    return guess_format(path)[0]


def _loads(text: str, path) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise AnnotationFormatError(f"invalid JSON: {e.msg} (column {e.colno})", path=path, line=e.lineno) from None
    except (ValueError, RecursionError) as e:
        raise AnnotationFormatError(f"invalid JSON: {str(e)[:120]}", path=path) from None


_TEXT_PARSERS = {"icbhi": parse_icbhi, "hflung": parse_hflung, "audacity": parse_audacity,
                 "textgrid": parse_textgrid, "raven": parse_raven, "csv": parse_csv}


def read_annotations(path: str | Path, fmt: str | None = None, *, audio_duration_s: float | None = None,
                     schema: LabelSchema | str | None = DEFAULT_SCHEMA) -> AnnotationSet:
    """An AnnotationSet from any supported file. Malformed input raises AnnotationFormatError naming
    the file and the line or field; nothing else escapes. ``fmt`` None: :func:`guess_format`.
    ``schema``: the label schema (object or name) the file's labels are mapped onto (default the
    built-in SPRSound event schema; None keeps the labels exactly as the file has them; the native
    ClinAudio file is never mapped); see
    :mod:`clinaudio_gui.io.labelmap` for the metadata it leaves (``label_map``, ``unmatched_labels``).
    ``audio_duration_s`` is recorded in the metadata (``duration_s``) so that a later TextGrid
    export spans the whole recording."""
    path = Path(path)
    tg = (fmt or "").strip().lower() == "textgrid" or (fmt is None and _suffix_format(path) == "textgrid")
    text = read_text(path, allow_empty=True, fallback="latin-1" if tg else None)
    data = None
    try:
        if fmt is not None:
            fmt = _check_fmt(fmt, path)
        elif text.lstrip().startswith(("{", "[")) and _suffix_format(path) != NATIVE_FORMAT:
            data = _loads(text, path)          # parsed once: the keys tell SPRSound from ClinAudio
            fmt = _json_kind(data, path)
        else:
            fmt = guess_format(path, text)[0]
        if not text.strip() and fmt not in _MAY_BE_EMPTY:
            raise AnnotationFormatError(f"file is empty (an empty {fmt} file is not valid)", path=path)
        if fmt in _JSON_FORMATS:
            data = _loads(text, path) if data is None else data
            a = parse_sprsound(data, path, text=text) if fmt == "sprsound" else parse_native(data, path)
        else:
            a = _TEXT_PARSERS[fmt](text, path)
        if fmt != NATIVE_FORMAT:    # the project's own file: its labels are the user's, kept as saved
            a = map_to_schema(a, schema, fmt)
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
    if fmt == "hflung":
        return dumps_hflung(annotations, path=path)
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


ANNOTATION_SUFFIXES = (".json", ".TextGrid", ".textgrid", ".txt", "_label.txt", ".csv", ".Table.1.selections.txt",
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
    recording (SPRSound .json, ICBHI/Audacity/HF_Lung .txt, .TextGrid, .csv, Raven table), else None.
    ``names`` (the folder's file names) saves the stat calls when scanning a big folder."""
    for p in annotation_candidates(audio_path):
        if (p.name in names) if names is not None else p.is_file():
            return p
    return None
