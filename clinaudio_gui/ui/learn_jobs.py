"""Model in the loop, the Qt-free half of the GUI (issue #19): the fine-tune command line, its
progress lines, the decision text, the project's model in use, and the new-label counter.

The fine-tune round runs as a separate process (``clinaudio learn finetune FOLDER
--progress-json``): one JSON line per progress step on stderr, the result as one JSON line on
stdout, exit 0 (accepted or kept aside), 2 (error) or 3 (cancelled by SIGTERM).
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

EXIT_OK, EXIT_ERROR, EXIT_CANCELLED = 0, 2, 3
BUNDLED_VERSION = "bundled"


def finetune_command(folder, *, epochs: int | None = None, seed: int | None = None,
                     python: str | None = None, nice: int = 0) -> list[str]:
    """[program, *arguments] of one fine-tune round on a folder project; ``nice`` > 0 runs it at a
    lower CPU priority (``nice -n``, which execs it: the process is still the round's own) so the
    window gets the CPU first on a small machine."""
    cmd = [python or sys.executable, "-m", "clinaudio_gui.cli", "learn", "finetune", str(folder), "--progress-json"]
    if nice > 0 and shutil.which("nice"):
        cmd = [shutil.which("nice"), "-n", str(int(nice))] + cmd
    if epochs is not None:
        cmd += ["--epochs", str(int(epochs))]
    if seed is not None:
        cmd += ["--seed", str(int(seed))]
    return cmd


def parse_progress_line(line: str) -> tuple[float, str] | None:
    """(fraction 0..1, stage) of one ``--progress-json`` stderr line; None for any other line."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        d = json.loads(line)
    except ValueError:
        return None
    if not isinstance(d, dict) or "progress" not in d:
        return None
    try:
        frac = min(1.0, max(0.0, float(d["progress"])))
    except (TypeError, ValueError):
        return None
    return frac, str(d.get("stage", ""))


def parse_result(stdout_text: str) -> dict | None:
    """The round's result: the last JSON object line of its stdout."""
    for line in reversed(stdout_text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if isinstance(d, dict):
                return d
    return None


def criterion(scores: dict | None) -> float | None:
    """The number a version is judged by: the scores' ``criterion`` when it is one, else event F."""
    if not scores:
        return None
    for key in ("criterion", "event_f"):
        v = scores.get(key)
        if isinstance(v, (int, float)):
            return float(v)
    return None


def _f(v) -> str:
    return "?" if v is None else f"{v:.3f}"


def decision_text(result: dict) -> str:
    """One line for the user: "v0004 in use: event F 0.21 -> 0.24" or
    "v0004 kept aside: scored 0.18 < 0.21 of the current model"."""
    if result.get("cancelled"):
        return "fine-tuning cancelled: the model in use is unchanged"
    ver = result.get("version") or "the new version"
    cand, cur = result.get("candidate") or {}, result.get("current") or {}
    c_new, c_old = criterion(cand), criterion(cur)
    how = (f" ({result['n_train']} recordings trained, {result['n_holdout']} held back"
           if "n_train" in result and "n_holdout" in result else "")
    if how and isinstance(result.get("seconds"), (int, float)):
        how += f", {result['seconds']:.0f} s"
    how += ")" if how else ""
    old_name = result.get("current_version") or "the current model"
    if result.get("accepted"):
        ef_old, ef_new = cur.get("event_f"), cand.get("event_f")
        text = f"{ver} in use: "
        if isinstance(ef_old, (int, float)) and isinstance(ef_new, (int, float)):
            text += f"event F {ef_old:.2f} -> {ef_new:.2f}, "
        return text + f"criterion {_f(c_old)} -> {_f(c_new)} (better than {old_name}){how}"
    cmp = "<" if c_new is not None and c_old is not None and c_new < c_old else "<="
    return f"{ver} kept aside: scored {_f(c_new)} {cmp} {_f(c_old)} of {old_name}{how}"


def scores_text(scores: dict | None) -> str:
    """Short text of one scores dict for the versions table: "event F / 2-2 Score"."""
    if not scores:
        return ""
    ef, sc = scores.get("event_f"), scores.get("score_2_2")
    if isinstance(ef, (int, float)) and isinstance(sc, (int, float)):
        return f"{ef:.2f} / {sc:.2f}"
    c = criterion(scores)
    return "" if c is None else f"{c:.3f}"


# ---------------------------------------------------------------- the project's model in use
_DETECTORS: dict = {}    # loaded detector packages (a second to load), kept between rankings


def cached_detector(model_dir=None):
    """The detector package at ``model_dir`` (None: the bundled one), loaded once."""
    key = str(model_dir) if model_dir else ""
    det = _DETECTORS.get(key)
    if det is None:
        from clinaudio_gui.engine.detector.infer import load_detector
        det = _DETECTORS[key] = load_detector(model_dir)
    return det


def project_folder_of(path) -> Path | None:
    """The folder project a recording (or a folder) belongs to."""
    if path is None:
        return None
    p = Path(path)
    return p if p.is_dir() else p.parent


def project_versions(folder):
    """ModelVersions of a folder project, or None when the engine has none to offer."""
    if folder is None:
        return None
    from clinaudio_gui.engine.detector.versions import ModelVersions
    return ModelVersions.for_project(folder)


def project_model(path) -> tuple[str, Path] | None:
    """(version name, detector package folder) in use for a recording's folder project; None while
    the folder has no versions of its own (the bundled detector is used) or the engine lacks them."""
    folder = project_folder_of(path)
    if folder is None or not (Path(folder) / ".clinaudio" / "models").is_dir():
        return None
    try:
        v = project_versions(folder)
        name = v.current()
        if name == BUNDLED_VERSION:
            return None
        return name, Path(v.current_dir())
    except (ImportError, OSError, ValueError, KeyError):
        return None


def model_text(result: dict) -> str:
    """Which model made a result: its version in the project when it came from one, and its id."""
    model = result.get("model") or ""
    ver = result.get("model_version")
    if ver and ver not in model:
        return f"{ver} ({model})" if model else str(ver)
    return model


# ---------------------------------------------------------------- counting new labels
class NewLabelCounter:
    """Recordings saved as 'done' since the last fine-tuning round.

    Feed it the dataset rows as they change (``observe(path, status, unsaved)``): a recording
    counts once, when it is first seen saved as 'done' after having been seen as not done (so the
    folder's scan, which lists recordings already labeled on disk, never counts them).
    """

    def __init__(self, counted=()):
        self.counted: set[str] = {str(p) for p in counted}
        self._state: dict[str, str] = {}          # path -> 'done' (saved) / other status seen
        self._saved_done: set[str] = set()

    def reset_rows(self) -> None:
        """A new folder listing: forget what the rows looked like (not what was counted)."""
        self._state.clear()
        self._saved_done.clear()

    def observe(self, path, status: str, unsaved: bool) -> bool:
        """True when this change made ``path`` a newly labeled recording."""
        p = str(path)
        saved_done = status == "done" and not unsaved
        seen_before = self._state.get(p)
        self._state[p] = status
        if not saved_done:
            return False
        if p in self._saved_done:
            return False
        self._saved_done.add(p)
        if seen_before in (None, "…", "broken"):   # listed by the scan as already labeled
            return False
        if p in self.counted:
            return False
        self.counted.add(p)
        return True

    def still_done(self, done_paths) -> int:
        """How many counted recordings are still 'done' (one whose status was taken back drops out)."""
        done = {str(p) for p in done_paths}
        return sum(1 for p in self.counted if p in done)

    def clear(self) -> None:
        self.counted.clear()
