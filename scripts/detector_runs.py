"""What the detector's analysis scripts share: a run's fold packages, the SPRSound recordings with
their cached features, and writing a JSON report (imported by scripts/detector_*.py, which Python
runs with this folder on its path)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clinaudio_gui.engine.detector import data as D  # noqa: E402


def fold_dirs(run: str | Path) -> list[Path]:
    """The fold packages of a cross-validation run (``RUN/fold*/manifest.json``); exits with a
    message naming the run when there are none."""
    folds = sorted(p.parent for p in Path(run).glob("fold*/manifest.json"))
    if not folds:
        raise SystemExit(f"{run}: no fold packages")
    return folds


def recordings(data: str | Path, cache: str | Path) -> tuple[list, float]:
    """(the recordings of ``data`` with their features from the cache, the detector's hop in s)."""
    recs = D.scan_recordings(data)
    D.load_features(recs, cache_dir=cache)
    return recs, D.detector_settings().hop_s


def write_json(path: str | Path | None, obj) -> None:
    """``obj`` as indented JSON at ``path`` (its folder made); nothing when ``path`` is None."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(obj, indent=1))
