"""Recordings on disk: content hashes, paths relative to a media root, and each client's media root.

The database holds no audio: a recording is its sha256 plus its path relative to a media root.
Each client maps the media root to its own disk (``--media-root``, ``$CLINAUDIO_MEDIA_ROOT``, or
the folder remembered in ``~/.config/clinaudio/media_roots.json`` for that project URL; the
admin's own root is kept in the project as a last hint). A missing file is named, never guessed.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.errors import AudioFileError
from clinaudio_gui.io.audio import audio_info, is_audio_path
from clinaudio_gui.io.sprsound import file_stem
from clinaudio_gui.store.url import StoreError


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def scan_audio(folder: str | Path, media_root: str | Path) -> list[dict]:
    """Recording rows for every audio file under ``folder`` (hidden folders skipped), with paths
    relative to ``media_root``. An unreadable audio file raises AudioFileError naming it."""
    folder, root = Path(folder).resolve(), Path(media_root).resolve()
    if not folder.is_dir():
        raise StoreError("not a folder" if folder.exists() else "folder not found", path=folder)
    try:
        folder.relative_to(root)
    except ValueError:
        raise StoreError(f"the folder is not inside the media root {root}", path=folder) from None
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file() or not is_audio_path(p):
            continue
        info = audio_info(p)
        out.append(dict(sha256=sha256_of(p), rel_path=rel.as_posix(), name=file_stem(p),
                        duration_s=float(info["duration_s"]), sample_rate_hz=int(info["sample_rate_hz"]),
                        channels=int(info["channels"])))
    return out


def _config_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "clinaudio" / "media_roots.json"


def remember_media_root(project_url: str, root: str | Path) -> None:
    f = _config_file()
    try:
        d = json.loads(f.read_text()) if f.is_file() else {}
    except (OSError, ValueError):
        d = {}
    d[project_url] = str(Path(root).resolve())
    atomic_write_text(f, json.dumps(d, indent=1) + "\n")


def media_root_for(project_url: str, hint: str | None = None, explicit: str | Path | None = None) -> Path | None:
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get("CLINAUDIO_MEDIA_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    f = _config_file()
    try:
        d = json.loads(f.read_text()) if f.is_file() else {}
    except (OSError, ValueError):
        d = {}
    if project_url in d:
        return Path(d[project_url])
    return Path(hint) if hint else None


def audio_path(rec, root: Path | None, *, check_hash: bool = False) -> Path:
    """Where this client finds the recording; AudioFileError naming it if it is not there."""
    if root is None:
        raise AudioFileError(f"recording {rec.rel_path} ({rec.sha256[:12]}): no media root for this project "
                             f"(give --media-root or set CLINAUDIO_MEDIA_ROOT)", path=rec.rel_path)
    p = root / rec.rel_path
    if not p.is_file():
        raise AudioFileError(f"recording {rec.name} (sha256 {rec.sha256[:12]}) is missing: expected under the "
                             f"media root {root}", path=p)
    if check_hash and sha256_of(p) != rec.sha256:
        raise AudioFileError(f"file differs from the registered recording {rec.name} (sha256 mismatch)", path=p)
    return p


def missing_files(recs, root: Path | None) -> list[str]:
    if root is None:
        return [r.rel_path for r in recs]
    return [r.rel_path for r in recs if not (root / r.rel_path).is_file()]
