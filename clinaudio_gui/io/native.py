"""The native ClinAudio annotation JSON (``<stem>.clinaudio.json``, core.AnnotationSet.to_dict):
lossless, it keeps every Segment field including its id, plus metadata."""
from __future__ import annotations

import json
from pathlib import Path

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.errors import AnnotationFormatError


def parse_native(data: object, path: str | Path = "<memory>") -> AnnotationSet:
    if not isinstance(data, dict) or "segments" not in data:
        raise AnnotationFormatError("not a ClinAudio annotation document (no 'segments' key)", path=path,
                                    field="segments")
    segs = data["segments"]
    if isinstance(segs, list):
        for i, s in enumerate(segs):
            if isinstance(s, dict):
                for k in ("label", "annotator", "note", "id"):
                    if k in s and s[k] is not None and not isinstance(s[k], str):
                        raise AnnotationFormatError(f"{k} must be a string, got {s[k]!r}"[:200], path=path,
                                                    field=f"segments[{i}].{k}")
                for k in ("confidence", "low_hz", "high_hz"):
                    v = s.get(k)
                    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                        raise AnnotationFormatError(f"{k} must be a number or null, got {v!r}"[:200], path=path,
                                                    field=f"segments[{i}].{k}")
    try:
        return AnnotationSet.from_dict(data)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as e:
        raise AnnotationFormatError(f"not a valid ClinAudio annotation document: {e}"[:300], path=path) from None


def read_native(path: str | Path) -> AnnotationSet:
    from clinaudio_gui.io.sprsound import load_json
    path = Path(path)
    return parse_native(load_json(path), path)


def dumps_native(annotations: AnnotationSet) -> str:
    return json.dumps(annotations.to_dict(), indent=1, ensure_ascii=False) + "\n"


def write_native(path: str | Path, annotations: AnnotationSet) -> None:
    atomic_write_text(path, dumps_native(annotations))
