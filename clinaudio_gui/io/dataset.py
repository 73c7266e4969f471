"""Labeled dataset folders (SPRSound, ICBHI, or any folder of recordings with annotation files).

``scan_labeled(folder)`` pairs each recording with its annotation file (native sidecar first,
then a same-stem SPRSound JSON / ICBHI txt / TextGrid / CSV / Raven table) and parses it.
Used by ``clinaudio stats``, the classifier and the augmentation export: patient ids come
from SPRSound / ICBHI file names so that splits can be made by patient, never by file.
Fast: one directory listing per folder and no audio decoding (1,949 SPRSound files in ~1 s).
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.errors import AnnotationFormatError, ClinAudioError
from clinaudio_gui.io.audio import AUDIO_SUFFIXES
from clinaudio_gui.core.project import SIDECAR_SUFFIX
from clinaudio_gui.io.formats import NATIVE_FORMAT, find_annotation_for, read_annotations
from clinaudio_gui.io.sprsound import file_stem, parse_icbhi_name, parse_sprsound_name


@dataclass(frozen=True)
class LabeledItem:
    """One recording. Unpacks as ``audio_path, annotation_path, annotations, patient``."""

    audio_path: Path
    annotation_path: Path | None
    annotations: AnnotationSet | None
    patient: str | None
    annotation_format: str | None = None
    name_info: dict = field(default_factory=dict)   # parsed SPRSound / ICBHI file name (age, location ...)
    diagnosis: str | None = None                    # ICBHI patient_diagnosis.csv, when present

    def __iter__(self):
        return iter((self.audio_path, self.annotation_path, self.annotations, self.patient))

    @property
    def stem(self) -> str:
        return file_stem(self.audio_path)

    @property
    def record_label(self) -> str | None:
        return self.annotations.record_label if self.annotations is not None else None


def _walk_audio(folder: Path):
    """(directory, sorted audio file names, set of all names) per folder, hidden entries skipped."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        names = set(files)
        audio = sorted(f for f in files if not f.startswith(".") and os.path.splitext(f)[1].lower() in AUDIO_SUFFIXES)
        yield Path(root), audio, names


def _diagnoses(root: Path, names: set[str]) -> dict[str, str]:
    if "patient_diagnosis.csv" not in names:
        return {}
    out = {}
    try:
        with open(root / "patient_diagnosis.csv", newline="", encoding="utf-8-sig") as f:
            for row in csv.reader(f):
                if len(row) >= 2 and row[0].strip():
                    out[row[0].strip()] = row[1].strip()
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}
    return out


def scan_labeled(folder: str | Path, *, include_unlabeled: bool = False, on_error: str = "raise",
                 schema=None) -> list[LabeledItem]:
    """Every recording under ``folder`` (recursively) with its parsed annotations, sorted by path.

    ``include_unlabeled``: also list recordings without an annotation file (annotations None).
    ``on_error``: "raise" (AnnotationFormatError naming the file) or "skip" a malformed file.
    ``schema``: map the labels onto this label schema (see io.labelmap); None (the default) keeps
    each dataset's own vocabulary, which is what dataset statistics report.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise AnnotationFormatError("not a folder", path=folder)
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error={on_error!r} must be 'raise' or 'skip'")
    items: list[LabeledItem] = []
    for root, audio, names in _walk_audio(folder):
        diag = _diagnoses(root, names)
        for name in audio:
            audio_path = root / name
            ann_path = find_annotation_for(audio_path, names=names)
            if ann_path is None and not include_unlabeled:
                continue
            ann = fmt = None
            if ann_path is not None:
                try:
                    ann = read_annotations(ann_path, schema=schema)
                    fmt = (NATIVE_FORMAT if ann_path.name.endswith(SIDECAR_SUFFIX)
                           else ann.metadata.get("source_format"))
                except ClinAudioError:
                    if on_error == "raise":
                        raise
                    continue
            stem = file_stem(name)
            info = parse_sprsound_name(stem) or parse_icbhi_name(stem) or {}
            patient = info.get("patient")
            items.append(LabeledItem(audio_path, ann_path, ann, patient, fmt, dict(info),
                                     diag.get(patient) if patient else None))
    return items
