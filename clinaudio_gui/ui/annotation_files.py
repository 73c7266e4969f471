"""Which annotations a recording opens with (no Qt), and the io layer's formats for the menus.

Order: the project's autosave (unsaved edits, e.g. after a crash) or sidecar, else an
annotation file next to the recording with the same base name (SPRSound JSON, ICBHI txt,
TextGrid, ...), else an empty set. Uses the io layer's registry when it is there; the
SPRSound JSON reader is the fallback so the viewer works on the bundled examples regardless.
"""
from __future__ import annotations

from pathlib import Path

from clinaudio_gui.core import AnnotationSet, ClinAudioError, Project, sidecar_path
from clinaudio_gui.io import file_stem, read_sprsound

FORMAT_TITLES = {"sprsound": "SPRSound JSON (*.json)", "icbhi": "ICBHI cycles (*.txt)",
                 "audacity": "Audacity labels (*.txt)", "textgrid": "Praat TextGrid (*.TextGrid)",
                 "raven": "Raven selection table (*.txt *.selections.txt)", "csv": "CSV (*.csv)",
                 "hflung": "HF_Lung labels (*_label.txt *.txt)"}
FORMAT_SUFFIX = {"sprsound": ".json", "icbhi": ".txt", "audacity": ".txt", "textgrid": ".TextGrid",
                 "raven": ".selections.txt", "csv": ".csv", "hflung": "_label.txt"}


def io_formats() -> tuple[str, ...]:
    try:
        from clinaudio_gui.io import FORMATS  # type: ignore[attr-defined]
        return tuple(FORMATS)
    except ImportError:
        return ("sprsound",)


def find_external_annotation(audio_path: Path) -> Path | None:
    try:
        from clinaudio_gui.io import find_annotation_for  # type: ignore[attr-defined]
    except ImportError:
        find_annotation_for = None
    if find_annotation_for is not None:
        p = find_annotation_for(audio_path)
        if p is not None and Path(p) != sidecar_path(audio_path):
            return Path(p)
        return None
    cand = audio_path.with_name(file_stem(audio_path) + ".json")
    return cand if cand.exists() else None


def read_annotations_any(path: Path, fmt: str | None = None, *, audio_duration_s: float | None = None,
                         schema=None) -> AnnotationSet:
    """``schema``: the active label schema the file's labels are mapped onto (None: the io
    layer's default, the SPRSound event schema)."""
    try:
        from clinaudio_gui.io import read_annotations  # type: ignore[attr-defined]
    except ImportError:
        read_annotations = None
    if read_annotations is not None:
        if schema is not None:
            return read_annotations(path, fmt, audio_duration_s=audio_duration_s, schema=schema)
        return read_annotations(path, fmt, audio_duration_s=audio_duration_s)
    if fmt not in (None, "sprsound"):
        raise ValueError(f"format={fmt!r} needs the io layer's read_annotations (not available yet)")
    return read_sprsound(path)


def write_annotations_any(path: Path, annotations: AnnotationSet, fmt: str, *,
                          audio_duration_s: float | None = None) -> None:
    try:
        from clinaudio_gui.io import write_annotations  # type: ignore[attr-defined]
    except ImportError:
        write_annotations = None
    if write_annotations is not None:
        write_annotations(path, annotations, fmt, audio_duration_s=audio_duration_s)
        return
    if fmt != "sprsound":
        raise ValueError(f"format={fmt!r} needs the io layer's write_annotations (not available yet)")
    from clinaudio_gui.io import write_sprsound
    write_sprsound(path, annotations)


def load_for_recording(project: Project, audio_path: Path, *, audio_duration_s: float | None = None,
                       schema=None) -> tuple[AnnotationSet, str, str | None]:
    """(annotations, where they came from, problem or None) for a recording.

    A file that cannot be read (corrupt sidecar, autosave or annotation file) never stops the
    recording from opening: the set is then empty, ``problem`` names the file and the error,
    and the caller must not save over that file (nothing already labeled is lost).
    """
    try:
        recovered = _has_newer_autosave(project, audio_path)
        a = project.load(audio_path)
    except ClinAudioError as e:
        return AnnotationSet(), "nothing (unreadable)", str(e)
    if a is not None:
        return a, ("autosave (unsaved edits restored)" if recovered else "sidecar " + sidecar_path(audio_path).name), None
    ext = find_external_annotation(audio_path)
    if ext is not None:
        try:
            a = read_annotations_any(ext, audio_duration_s=audio_duration_s, schema=schema)
        except (ClinAudioError, ValueError) as e:
            return AnnotationSet(), "nothing (unreadable)", str(e)
        a.mark_saved()
        return a, ext.name, None
    return AnnotationSet(), "no annotations yet", None


def _has_newer_autosave(project: Project, audio_path: Path) -> bool:
    auto = project.autosave_path(audio_path)
    if not auto.exists():
        return False
    side = sidecar_path(audio_path)
    return not side.exists() or auto.stat().st_mtime_ns >= side.stat().st_mtime_ns
