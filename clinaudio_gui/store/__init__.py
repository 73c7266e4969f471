"""store: a project in a database (SQLite or PostgreSQL) for teams. No Qt, no torch.

Beside ``io`` in the layers: it reads and writes annotation files through ``io`` and computes
event agreement through ``metrics``. The GUI and CLI reach a project only through
:class:`ProjectStore` and the functions here.
"""
from clinaudio_gui.store.url import (ConflictError, ProjectURL, StoreError, StoreUnavailable, parse_url,
                                     redact)
from clinaudio_gui.store.service import LoadedSet, ProjectStore, RecordingInfo
from clinaudio_gui.store.models import CONSENSUS, ROLES

__all__ = ["ConflictError", "ProjectURL", "StoreError", "StoreUnavailable", "parse_url", "redact",
           "LoadedSet", "ProjectStore", "RecordingInfo", "CONSENSUS", "ROLES"]
