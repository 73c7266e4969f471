"""core: the document model. Pure Python + numpy; no Qt, no torch."""
from clinaudio_gui.core.annotations import (AddSegment, AnnotationSet, Command, Event, Macro,
                                            ModifySegment, RemoveSegment, SetMetadata, SetRecordLabel)
from clinaudio_gui.core.atomic import atomic_write_bytes, atomic_write_text
from clinaudio_gui.core.errors import (AnnotationFormatError, AudioFileError, ClinAudioError,
                                       ModelPackageError)
from clinaudio_gui.core.project import (AUDIO_EXTENSIONS, Autosaver, Project, read_annotation_file,
                                        sidecar_path, write_annotation_file)
from clinaudio_gui.core.recording import Recording
from clinaudio_gui.core.schema import (BUILTIN_SCHEMAS, ICBHI_CYCLE_LABELS, ICBHI_CYCLES, Label,
                                       LabelSchema, SPRSOUND_EVENT_LABELS, SPRSOUND_EVENTS,
                                       SPRSOUND_RECORD_LABELS, SPRSOUND_RECORDS, get_schema)
from clinaudio_gui.core.segment import Segment

__all__ = [n for n in dir() if not n.startswith("_")]
