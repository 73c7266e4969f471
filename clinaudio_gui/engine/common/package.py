"""Model packages: weights as safetensors + a JSON manifest. Never pickle.

A package is a folder::

    MODEL_DIR/model.safetensors   # tensors only (safetensors cannot hold code)
    MODEL_DIR/manifest.json       # what the weights are: kind, task, classes, features, metrics,
                                  # training data and command, sha256 of the weights, versions

Loading checks the manifest, then the sha256 of the weights file, and only then reads the
tensors with ``safetensors.torch.load_file`` (no unpickling anywhere).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from clinaudio_gui import __version__
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.errors import ModelPackageError

FORMAT = "clinaudio-model"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
MANIFEST_FILE = "manifest.json"
REQUIRED_KEYS = ("format", "format_version", "kind", "weights_file", "weights_sha256")
# what save_model_package stamps on a manifest: drop them before saving a changed package again
STAMP_KEYS = ("format", "format_version", "weights_file", "weights_sha256", "weights_bytes", "created_utc")


def models_root() -> Path:
    """Where the bundled models live: $CLINAUDIO_MODELS, a frozen app's bundle, or the repo's models/."""
    env = os.environ.get("CLINAUDIO_MODELS")
    if env:
        return Path(env)
    if getattr(sys, "frozen", False) and hasattr(sys, "_MEIPASS"):
        return Path(sys._MEIPASS) / "models"
    return Path(__file__).resolve().parents[3] / "models"


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_model_package(out_dir: str | Path, tensors: dict[str, torch.Tensor],
                       manifest: dict[str, Any]) -> Path:
    """Write weights and manifest; the manifest gets format, hash, versions and a timestamp."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if "kind" not in manifest:
        raise ValueError("manifest needs a 'kind' (e.g. 'classifier', 'gan-generator')")
    weights = out / WEIGHTS_FILE
    tmp = out / (WEIGHTS_FILE + ".tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))
    os.replace(tmp, weights)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(weights, 0o666 & ~umask)   # readable by the group like every other file we write
    full = dict(manifest)
    full.update({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": sha256_of(weights),
        "weights_bytes": weights.stat().st_size,
        "software_version": __version__,
        "torch_version": torch.__version__.split("+")[0],
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    })
    atomic_write_text(out / MANIFEST_FILE, json.dumps(full, indent=2, ensure_ascii=False) + "\n")
    return out


def read_manifest(model_dir: str | Path) -> dict[str, Any]:
    d = Path(model_dir)
    mpath = d / MANIFEST_FILE
    if not mpath.is_file():
        raise ModelPackageError("no manifest.json: not a ClinAudio model package", path=d)
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelPackageError(f"unreadable manifest: {e}", path=mpath) from None
    if not isinstance(manifest, dict):
        raise ModelPackageError("manifest must be a JSON object", path=mpath)
    for k in REQUIRED_KEYS:
        if k not in manifest:
            raise ModelPackageError(f"manifest lacks '{k}'", path=mpath, field=k)
    if manifest["format"] != FORMAT:
        raise ModelPackageError(f"format={manifest['format']!r}, expected {FORMAT!r}", path=mpath,
                                field="format")
    if manifest["format_version"] > FORMAT_VERSION:
        raise ModelPackageError(f"format_version={manifest['format_version']} is newer than this "
                                f"software supports ({FORMAT_VERSION})", path=mpath, field="format_version")
    wf = str(manifest["weights_file"])
    if "/" in wf or "\\" in wf or wf.startswith("."):
        raise ModelPackageError(f"weights_file={wf!r} must be a plain file name", path=mpath,
                                field="weights_file")
    return manifest


def load_model_package(model_dir: str | Path, *, kind: str | None = None
                       ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, manifest) after checking the manifest and the weights' sha256."""
    d = Path(model_dir)
    manifest = read_manifest(d)
    if kind is not None and manifest["kind"] != kind:
        raise ModelPackageError(f"kind={manifest['kind']!r}, expected {kind!r}", path=d / MANIFEST_FILE,
                                field="kind")
    weights = d / manifest["weights_file"]
    if not weights.is_file():
        raise ModelPackageError("weights file missing", path=weights)
    digest = sha256_of(weights)
    if digest != manifest["weights_sha256"]:
        raise ModelPackageError(f"sha256 mismatch (file {digest[:12]}..., manifest "
                                f"{str(manifest['weights_sha256'])[:12]}...): weights changed or corrupt",
                                path=weights)
    try:
        tensors = load_file(str(weights), device="cpu")
    except Exception as e:  # safetensors raises its own error types
        raise ModelPackageError(f"cannot read safetensors: {e}", path=weights) from None
    return tensors, manifest


def list_packages(root: str | Path | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """Every readable package under root (default: the bundled models)."""
    root = Path(root) if root else models_root()
    out = []
    if not root.is_dir():
        return out
    for mpath in sorted(root.glob("*/" + MANIFEST_FILE)):
        try:
            out.append((mpath.parent, read_manifest(mpath.parent)))
        except ModelPackageError:
            continue
    return out
