"""One row of the dataset list: status, record label, duration, events and patient context (Qt-free).

``describe`` reads only small things (the audio header, the annotation file, the folder's metadata
CSV) so a background scan lists thousands of recordings quickly. A file whose audio cannot be read
(truncated, empty, not audio) is ``broken``: counted apart, never as unlabeled, and the scan goes on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf

from clinaudio_gui.core import AnnotationSet, Project
from clinaudio_gui.io.metadata import MetadataIndex, PatientInfo
from clinaudio_gui.ui.annotation_files import find_external_annotation, read_annotations_any

STATUS_COLORS = {"unlabeled": "#9e9e9e", "in progress": "#f0a30a", "done": "#2e9e4f", "broken": "#d32f2f"}
SEX_SHORT = {"male": "M", "female": "F"}


@dataclass
class Row:
    path: Path
    status: str = "…"
    record_label: str = ""
    duration_s: float | None = None
    events: int | None = None
    scanned: bool = False
    problem: str = ""                         # why a broken file is broken
    labels: frozenset = frozenset()           # event labels present
    patient: PatientInfo = field(default_factory=PatientInfo)
    unsaved: bool = False                     # edits in this session not yet saved

    @property
    def sex_text(self) -> str:
        s = self.patient.sex
        return SEX_SHORT.get(s, s or "")


def status_of(a: AnnotationSet | None, *, external: bool = False) -> str:
    if a is None:
        return "unlabeled"
    st = a.metadata.get("status")
    if st in ("unlabeled", "in progress", "done"):
        return st
    if len(a) or a.record_label:
        return "done" if external else "in progress"
    return "unlabeled"


def fill_from_annotations(row: Row, a: AnnotationSet | None, *, external: bool = False) -> Row:
    row.status = status_of(a, external=external)
    row.record_label = (a.record_label or "") if a is not None else ""
    row.events = len(a) if a is not None else None
    row.labels = frozenset(s.label for s in a.segments) if a is not None else frozenset()
    return row


def describe(project: Project, path: Path, meta: MetadataIndex | None = None) -> Row:
    """Status, record label, duration, events and patient context of one recording."""
    row = Row(Path(path), scanned=True)
    if meta is not None:
        try:
            row.patient = meta.lookup(path)
        except Exception:  # noqa: BLE001 - metadata never blocks the list
            pass
    try:
        info = sf.info(str(path))
        if info.frames <= 0 or info.samplerate <= 0:
            raise ValueError("no audio frames")
        row.duration_s = info.frames / float(info.samplerate)
    except Exception as e:  # noqa: BLE001 - a bad file shows as such, the scan goes on
        row.status = "broken"
        row.problem = str(e).splitlines()[0] if str(e) else type(e).__name__
        return row
    a = None
    try:
        a = project.load(path)
    except Exception:  # noqa: BLE001
        a = None
    if a is not None:
        return fill_from_annotations(row, a)
    ext = find_external_annotation(path)
    if ext is not None:
        try:
            return fill_from_annotations(row, read_annotations_any(ext, audio_duration_s=row.duration_s),
                                         external=True)
        except Exception:  # noqa: BLE001
            pass
    row.status = "unlabeled"
    return row
