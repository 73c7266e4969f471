"""The project's own error types.

Every reader raises a subclass of :class:`ClinAudioError`; the CLI turns it into
exit code 2 and one line on stderr naming the file, the place and the problem.
"""
from __future__ import annotations

from pathlib import Path


class ClinAudioError(Exception):
    """Base class: a problem the user can act on (bad file, bad value)."""

    def __init__(self, problem: str, *, path: str | Path | None = None,
                 line: int | None = None, field: str | None = None):
        self.problem = problem
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        super().__init__(self.format())

    def format(self) -> str:
        where = self.path or ""
        if self.line is not None:
            where += f":{self.line}" if where else f"line {self.line}"
        if self.field is not None:
            where += f" [{self.field}]" if where else f"[{self.field}]"
        return f"{where}: {self.problem}" if where else self.problem


class AudioFileError(ClinAudioError):
    """An audio file is missing, empty, truncated, corrupt or of an unsupported type."""


class AnnotationFormatError(ClinAudioError):
    """An annotation file is malformed or of an unsupported format."""


class ModelPackageError(ClinAudioError):
    """A model package is missing files, has a bad manifest, or fails its hash check."""
