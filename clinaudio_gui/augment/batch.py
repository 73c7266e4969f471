"""Batch export: augment every recording of a folder, with its labels and full provenance.

Reproducibility: copy ``i`` of input ``rel`` draws from ``rng_for(seed, rel, i)`` (a
SeedSequence over the seed and a sha256 of the relative path), so the output does not
depend on the worker count, the order of processing, or other files in the folder; the same
seed gives byte-identical files, another seed other files.

Output, mirroring the input's sub-folders inside OUT:

* audio recipes: ``<stem>__augNN.<ext>`` in the input's format, except OGG / MP3 inputs, which
  are written as FLAC (lossless; and libsndfile's Ogg writer picks a random stream serial
  number, so OGG bytes could never be reproducible), plus the annotations in the input's
  annotation format (same suffix as the input's annotation file), segments moved, scaled
  and cut with the audio;
* spectrogram recipes (e.g. ``taa``): ``<stem>__augNN.npy``, a float32 (freq, time) image:
  an audio input is first turned into a mel spectrogram in dB with the recipe's
  ``features``; a ``.npy`` input (2-D) is augmented as it is;
* ``manifest.jsonl``: one line per output (source, output, annotations, index, seed,
  recipe, drawn params, software version), sorted by source and index;
* ``recipe.json``: the recipe that made them.

An unreadable input is reported by name and skipped; nothing inside the input folder is
ever written (OUT may not be inside it).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from clinaudio_gui import __version__
from clinaudio_gui.augment.audio import MixSameClass
from clinaudio_gui.augment.base import SPECTROGRAM, Transform
from clinaudio_gui.augment.compose import _Container, applied_names
from clinaudio_gui.augment.recipes import Recipe
from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_bytes, atomic_write_text
from clinaudio_gui.core.errors import ClinAudioError

LOSSY_TO = {".ogg": ".flac", ".mp3": ".flac"}
LABELS_FROM = ("auto", "none", "sprsound", "icbhi", "audacity", "textgrid", "raven", "csv", "clinaudio")
SOFTWARE = f"clinaudio_gui {__version__}"


@dataclass
class BatchResult:
    written: int = 0                       # output files (audio or .npy)
    processed: list[str] = field(default_factory=list)   # relative input paths done
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)
    cancelled: bool = False
    manifest_path: Path | None = None
    seconds: float = 0.0


def _contains(t: Transform, cls: type) -> bool:
    if isinstance(t, cls):
        return True
    return isinstance(t, _Container) and any(_contains(c, cls) for c in t.transforms)


def list_inputs(in_dir: Path, *, spectrogram: bool) -> list[Path]:
    """Audio files (and .npy images for spectrogram recipes), sorted, hidden entries skipped."""
    from clinaudio_gui.io.audio import AUDIO_SUFFIXES
    suffixes = set(AUDIO_SUFFIXES) | ({".npy"} if spectrogram else set())
    out = []
    for root, dirs, files in os.walk(in_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in files:
            if not f.startswith(".") and Path(f).suffix.lower() in suffixes:
                out.append(Path(root) / f)
    return sorted(out, key=lambda p: p.relative_to(in_dir).as_posix())


def _find_labels(audio: Path, labels_from: str) -> tuple[Path | None, str | None]:
    if labels_from == "none":
        return None, None
    from clinaudio_gui.io import annotation_candidates, detect_format, find_annotation_for
    if labels_from == "auto":
        ann = find_annotation_for(audio)
        return (ann, detect_format(ann)) if ann is not None else (None, None)
    # a named format: the first file next to the recording that is in that format
    for cand in annotation_candidates(audio):
        if cand.is_file():
            try:
                if detect_format(cand) == labels_from:
                    return cand, labels_from
            except ClinAudioError:
                return cand, labels_from     # unreadable: reading it reports the file and why
    return None, None


def class_of(audio: Path, labels_from: str = "auto") -> str:
    """The record label (from its annotations) or, without one, the parent folder's name."""
    try:
        ann, fmt = _find_labels(audio, labels_from)
        if ann is not None:
            from clinaudio_gui.io import read_annotations
            lab = read_annotations(ann, fmt).record_label
            if lab:
                return lab
    except ClinAudioError:
        pass
    return audio.parent.name


@dataclass
class _Task:
    rel: str
    in_dir: str
    out_dir: str
    recipe_json: str
    per_file: int
    seed: int
    labels_from: str
    same_class_paths: list[str]


_RECIPES: dict[str, Recipe] = {}


def _recipe(js: str) -> Recipe:
    r = _RECIPES.get(js)
    if r is None:
        r = _RECIPES[js] = Recipe.from_dict(json.loads(js))
    return r


def _out_name(rel: Path, index: int, suffix: str) -> Path:
    from clinaudio_gui.io import file_stem
    stem = rel.name[:-4] if rel.name.lower().endswith(".npy") else file_stem(rel.name)
    return rel.parent / f"{stem}__aug{index:02d}{suffix}"


def _process(task: _Task) -> tuple[str, list[dict] | None, str | None]:
    """One input file -> its outputs. Returns (rel, manifest records, error or None)."""
    from clinaudio_gui.augment import rng_for
    try:
        return task.rel, _process_inner(task, rng_for), None
    except (ClinAudioError, ValueError, OSError) as e:
        msg = e.format() if isinstance(e, ClinAudioError) else str(e)
        return task.rel, None, msg


def _process_inner(task: _Task, rng_for) -> list[dict]:
    from clinaudio_gui.io import file_stem, read_annotations, read_audio, write_annotations, write_audio
    recipe = _recipe(task.recipe_json)
    in_dir, out_dir = Path(task.in_dir), Path(task.out_dir)
    rel = Path(task.rel)
    src = in_dir / rel
    spectro = recipe.domain == SPECTROGRAM
    annotations: AnnotationSet | None = None
    ann_path = ann_fmt = None
    if src.suffix.lower() == ".npy":
        try:
            x = np.load(src, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ClinAudioError(f"cannot read .npy image ({e})", path=src) from None
        if x.ndim != 2 or not np.issubdtype(x.dtype, np.number):
            raise ClinAudioError(f"a spectrogram image must be a 2-D numeric array, got {x.dtype} {x.shape}",
                                 path=src)
        x = x.astype(np.float32)
        sr = 0
    else:
        y, sr = read_audio(src)
        ann_path, ann_fmt = _find_labels(src, task.labels_from)
        if ann_path is not None:
            annotations = read_annotations(ann_path, ann_fmt, audio_duration_s=len(y) / sr)
        if spectro:
            from clinaudio_gui.augment.features import features_image
            x = features_image(y, sr, recipe.features or {})
        else:
            x = y
    records = []
    for i in range(task.per_file):
        rng = rng_for(task.seed, rel.as_posix(), i)
        context = {"index": i, "source_path": str(src), "same_class_paths": task.same_class_paths}
        params = recipe.pipeline.randomize(rng, context)
        rec: dict[str, Any] = {"source": rel.as_posix(), "index": i, "seed": task.seed, "recipe": recipe.name}
        if spectro:
            out = recipe.pipeline.apply(x, sr, params)
            out_rel = _out_name(rel, i, ".npy")
            import io as _io
            buf = _io.BytesIO()
            np.save(buf, np.ascontiguousarray(out, dtype=np.float32), allow_pickle=False)
            atomic_write_bytes(out_dir / out_rel, buf.getvalue())
            rec.update(output=out_rel.as_posix(), shape=list(out.shape),
                       record_label=annotations.record_label if annotations else None,
                       features=recipe.features if src.suffix.lower() != ".npy" else None)
        else:
            segs = list(annotations.segments) if annotations else []
            out, segs = recipe.pipeline.apply_with_segments(x, sr, params, segs)
            suffix = LOSSY_TO.get(src.suffix.lower(), src.suffix.lower())
            out_rel = _out_name(rel, i, suffix)
            write_audio(out_dir / out_rel, out, sr)
            rec.update(output=out_rel.as_posix(), sample_rate_hz=sr, duration_s=len(out) / sr)
            if annotations is not None:
                stem = file_stem(src.name)
                ann_suffix = ann_path.name[len(stem):] if ann_path.name.startswith(stem) else ann_path.suffix
                a_rel = rel.parent / (file_stem(out_rel.name) + ann_suffix)
                md = annotations.metadata
                md["augmented_from"] = rel.as_posix()
                a_out = AnnotationSet(segs, annotations.record_label, md)
                write_annotations(out_dir / a_rel, a_out, ann_fmt, audio_duration_s=len(out) / sr)
                rec.update(annotations=a_rel.as_posix(), annotation_format=ann_fmt, n_segments=len(segs))
        rec.update(applied=applied_names(recipe.pipeline, params), params=params, software=SOFTWARE)
        records.append(rec)
    return records


def run_batch(recipe: Recipe, in_dir: str | Path, out_dir: str | Path, *, per_file: int = 1, seed: int = 0,
              labels_from: str = "auto", workers: int = 1,
              progress: Callable[[int, int, str], bool | None] | None = None) -> BatchResult:
    """Augment every input of ``in_dir`` ``per_file`` times into ``out_dir``.

    ``progress(done, total, relative_name)`` is called after each input; returning False
    cancels (outputs already written stay, and the manifest lists exactly those)."""
    import time
    t0 = time.perf_counter()
    in_dir, out_dir = Path(in_dir).resolve(), Path(out_dir).resolve()
    if not in_dir.is_dir():
        raise ValueError(f"--in {in_dir} is not a folder")
    if out_dir == in_dir or in_dir in out_dir.parents:
        raise ValueError(f"--out {out_dir} must not be inside --in {in_dir} (the input is never modified)")
    if isinstance(per_file, bool) or not isinstance(per_file, int) or per_file < 1:
        raise ValueError(f"per_file={per_file!r} must be an integer >= 1")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers={workers!r} must be an integer >= 1")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} must be an integer >= 0")
    if labels_from not in LABELS_FROM:
        raise ValueError(f"labels_from={labels_from!r} must be one of {', '.join(LABELS_FROM)}")
    inputs = list_inputs(in_dir, spectrogram=recipe.domain == SPECTROGRAM)
    if not inputs:
        raise ValueError(f"no audio files found in {in_dir}")
    classes: dict[str, list[str]] = {}
    cls_of: dict[Path, str] = {}
    if _contains(recipe.pipeline, MixSameClass):
        for p in inputs:
            if p.suffix.lower() != ".npy":
                cls_of[p] = class_of(p, labels_from)
                classes.setdefault(cls_of[p], []).append(str(p))
    recipe_json = json.dumps(recipe.to_dict(), sort_keys=True)
    tasks = [_Task(p.relative_to(in_dir).as_posix(), str(in_dir), str(out_dir), recipe_json, per_file, seed,
                   labels_from, classes.get(cls_of.get(p, ""), [])) for p in inputs]
    out_dir.mkdir(parents=True, exist_ok=True)
    result = BatchResult()
    records: list[dict] = []

    def consume(it):
        for done, (rel, recs, err) in enumerate(it, 1):
            if err is not None:
                result.skipped.append((rel, err))
            else:
                result.processed.append(rel)
                records.extend(recs)
                result.written += len(recs)
            if progress is not None and progress(done, len(tasks), rel) is False:
                result.cancelled = True
                return

    if workers == 1 or len(tasks) == 1:
        consume(map(_process, tasks))
    else:
        import multiprocessing as mp
        # spawn, not fork: the GUI calls this from a thread, and forking a threaded Qt
        # process is unsafe
        with mp.get_context("spawn").Pool(min(workers, len(tasks))) as pool:
            consume(pool.imap(_process, tasks, chunksize=1))
            if result.cancelled:
                pool.terminate()
    records.sort(key=lambda r: (r["source"], r["index"]))
    manifest = out_dir / "manifest.jsonl"
    atomic_write_text(manifest, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    atomic_write_text(out_dir / "recipe.json", recipe.to_json())
    result.manifest_path = manifest
    result.seconds = time.perf_counter() - t0
    return result
