"""A project's detector versions: every fine-tuned model kept with its manifest, one in use.

Layout (``<project>/.clinaudio/models`` for a folder project)::

    registry.json      {"current": "v0002" | "bundled", "base": <bundled package dir>, "versions": [...]}
    v0001/             a complete detector package (safetensors + manifest.json)
    v0002/ ...

Each entry of ``versions`` records its parent (the model it was fine-tuned from), the labels it
was trained on (recordings and their count), the held-back patients it was judged on, the scores
of the candidate and of the model in use at that time on them, and the decision. Only a
candidate that scored better than the model in use is put in use; a worse one is kept aside with
its figures. ``rollback`` puts any earlier version (or the bundled model) back in use.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.errors import ClinAudioError
from clinaudio_gui.engine.detector.infer import bundled_detector_dir

BUNDLED = "bundled"


class ModelVersions:
    def __init__(self, root: str | Path, base_dir: str | Path | None = None):
        self.root = Path(root)
        self.base_dir = Path(base_dir) if base_dir else bundled_detector_dir()

    @classmethod
    def for_project(cls, folder: str | Path, base_dir: str | Path | None = None) -> ModelVersions:
        return cls(Path(folder) / ".clinaudio" / "models", base_dir)

    # ---- the registry file ------------------------------------------------------------
    @property
    def registry_path(self) -> Path:
        return self.root / "registry.json"

    def _read(self) -> dict:
        p = self.registry_path
        if not p.is_file():
            return {"current": BUNDLED, "base": str(self.base_dir), "versions": [], "holdout_patients": []}
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
            if not isinstance(d.get("versions"), list):
                raise ValueError("no 'versions' list")
            return d
        except (OSError, ValueError) as e:
            raise ClinAudioError(f"model registry is not readable: {e}", path=p) from None

    def _write(self, d: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.registry_path, json.dumps(d, indent=1) + "\n")

    # ---- reading ------------------------------------------------------------------------
    def current(self) -> str:
        return self._read()["current"]

    def current_dir(self) -> Path:
        return self.dir_of(self.current())

    def dir_of(self, version: str) -> Path:
        if version == BUNDLED:
            return self.base_dir
        d = self.root / version
        if not (d / "manifest.json").is_file():
            raise ClinAudioError(f"model version {version!r} has no package here", path=d)
        return d

    def list(self) -> list[dict]:
        """Newest first, each with its status: "in use", "previous" (was in use) or "kept aside"."""
        d = self._read()
        out = []
        for v in reversed(d["versions"]):
            v = dict(v)
            v["status"] = "in use" if v["version"] == d["current"] else \
                ("previous" if v.get("accepted") or v.get("was_used") else "kept aside")
            v["dir"] = str(self.root / v["version"])
            out.append(v)
        return out

    def holdout_patients(self) -> list[str]:
        return list(self._read().get("holdout_patients", []))

    def set_holdout_patients(self, patients) -> None:
        d = self._read()
        d["holdout_patients"] = sorted(set(patients))
        self._write(d)

    # ---- changing ------------------------------------------------------------------------
    def next_version(self) -> str:
        n = len(self._read()["versions"]) + 1
        while (self.root / f"v{n:04d}").exists():
            n += 1
        return f"v{n:04d}"

    def add(self, version: str, entry: dict, *, accepted: bool) -> dict:
        """Register a package already written to ``root/version``; in use only if accepted."""
        if not (self.root / version / "manifest.json").is_file():
            raise ClinAudioError("no model package to register", path=self.root / version)
        d = self._read()
        entry = {"version": version, "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "parent": d["current"], **entry, "accepted": bool(accepted)}
        d["versions"].append(entry)
        if accepted:
            d["current"] = version
        self._write(d)
        return entry

    def rollback(self, version: str) -> None:
        d = self._read()
        known = {v["version"] for v in d["versions"]} | {BUNDLED}
        if version not in known:
            raise ClinAudioError(f"no model version {version!r}; known: {', '.join(sorted(known))}",
                                 path=self.registry_path)
        self.dir_of(version)
        for v in d["versions"]:
            if v["version"] == version:
                v["was_used"] = True
        d["current"] = version
        d.setdefault("rollbacks", []).append({"to": version, "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                  time.gmtime())})
        self._write(d)
