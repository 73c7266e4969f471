"""Where cached feature arrays live (classifier training, the MFCC baseline)."""
from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """``$CLINAUDIO_CACHE``, else ``runs/cache`` under the current folder."""
    return Path(os.environ.get("CLINAUDIO_CACHE", Path.cwd() / "runs" / "cache"))
