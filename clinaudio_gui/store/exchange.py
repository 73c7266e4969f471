"""Bringing annotation files into a project and writing them back out, and assigning recordings.

Import reads any format the io layer reads, matches each file to a registered recording by file
name, and saves it as one person's set (an admin may import on someone's behalf). Each import
carries an operation id derived from the recording, the person and the file's bytes, so importing
the same files again - or again after the server died half-way - changes nothing and doubles
nothing.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.io.formats import ALL_FORMATS, NATIVE_FORMAT, read_annotations, write_annotations
from clinaudio_gui.io.sprsound import file_stem
from clinaudio_gui.store.service import ProjectStore, canonical
from clinaudio_gui.store.url import StoreError

# the file name ending each format is written with (and recognised by, on import)
EXPORT_SUFFIX = {"sprsound": ".json", NATIVE_FORMAT: ".clinaudio.json", "icbhi": ".txt", "audacity": ".txt",
                 "textgrid": ".TextGrid", "raven": ".Table.1.selections.txt", "csv": ".csv"}


def check_format(fmt: str) -> str:
    f = fmt.strip().lower()
    f = NATIVE_FORMAT if f == "native" else f
    if f not in ALL_FORMATS:
        raise StoreError(f"unknown annotation format {fmt!r} (use one of {', '.join(ALL_FORMATS)})")
    return f


def _annotation_stem(p: Path, fmt: str) -> str | None:
    """The recording name an annotation file of ``fmt`` belongs to, or None if it is not one."""
    name = p.name
    low = name.lower()
    if fmt == NATIVE_FORMAT:
        return name[: -len(".clinaudio.json")] if low.endswith(".clinaudio.json") else None
    if fmt == "sprsound":
        return file_stem(p) if low.endswith(".json") and not low.endswith(".clinaudio.json") else None
    if fmt == "raven":
        for suf in (".table.1.selections.txt", ".selections.txt"):
            if low.endswith(suf):
                return name[: -len(suf)]
        return None
    if fmt in ("icbhi", "audacity"):
        return file_stem(p) if low.endswith(".txt") and not low.endswith(".selections.txt") else None
    if fmt == "textgrid":
        return file_stem(p) if low.endswith(".textgrid") else None
    return file_stem(p) if low.endswith(".csv") else None


def import_folder(store: ProjectStore, folder: str | Path, fmt: str, as_name: str, *,
                  status: str = "done") -> dict:
    fmt = check_format(fmt)
    folder = Path(folder)
    if not folder.is_dir():
        raise StoreError("not a folder" if folder.exists() else "folder not found", path=folder)
    store.require_person(as_name)
    store._check_write(as_name)
    by_name: dict[str, list] = {}
    for r in store.recordings():
        by_name.setdefault(r.name, []).append(r)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not any(
        part.startswith(".") for part in p.relative_to(folder).parts))
    matched, unmatched = [], []
    for p in files:
        stem = _annotation_stem(p, fmt)
        if stem is None:
            continue
        recs = by_name.get(stem)
        if not recs:
            unmatched.append(str(p))
            continue
        if len(recs) > 1:
            raise StoreError(f"matches {len(recs)} registered recordings named {stem!r} "
                             f"({', '.join(r.rel_path for r in recs)})", path=p)
        matched.append((p, recs[0]))
    if not matched:
        raise StoreError(f"no {fmt} annotation file here matches a registered recording"
                         + (f" ({len(unmatched)} file(s) match none, e.g. {Path(unmatched[0]).name})"
                            if unmatched else ""), path=folder)
    current = store.load_all([as_name])
    out = Counter()
    for p, rec in matched:
        a = read_annotations(p, fmt, audio_duration_s=rec.duration_s)
        a = AnnotationSet([s.replace(annotator=s.annotator or as_name) for s in a.segments], a.record_label,
                          a.metadata)
        have = current.get((rec.id, as_name))
        if have is not None and canonical(have.annotations) == canonical(a):
            out["unchanged"] += 1
            continue
        op = hashlib.sha256(f"import|{rec.sha256}|{as_name}|".encode() + p.read_bytes()).hexdigest()[:40]
        base = have.version if have is not None else 0
        v = store.save(rec.id, as_name, a, base, status=status, op_id=op, action="import")
        out["imported" if v != base else "unchanged"] += 1
    return {"imported": out["imported"], "unchanged": out["unchanged"], "unmatched": len(unmatched),
            "unmatched_examples": [Path(u).name for u in unmatched[:5]], "format": fmt, "as": as_name}


def export_sets(store: ProjectStore, out_dir: str | Path, fmt: str, owner: str) -> dict:
    fmt = check_format(fmt)
    store.require_person(owner)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise StoreError("the output exists and is not a folder", path=out_dir)
    recs = {r.id: r for r in store.recordings()}
    sets = store.load_all([owner])
    written = []
    for (rid, _), ls in sorted(sets.items(), key=lambda kv: recs[kv[0][0]].name):
        rec = recs[rid]
        path = out_dir / (rec.name + EXPORT_SUFFIX[fmt])
        write_annotations(path, ls.annotations, fmt, audio_duration_s=rec.duration_s)
        written.append(path.name)
    return {"written": len(written), "folder": str(out_dir), "format": fmt, "owner": owner}


def balanced_assignment(recording_ids: list[int], annotators: list[str], per_recording: int, seed: int,
                        existing: dict[int, list[str]] | None = None) -> list[tuple[int, str]]:
    """New (recording, annotator) pairs so that every recording has ``per_recording`` distinct
    annotators and loads differ by at most one (counting assignments that already exist).
    Recordings are taken in a seeded random order; ties are broken by seeded random draws."""
    if per_recording < 1 or per_recording > len(annotators):
        raise StoreError(f"--per-recording {per_recording} must be between 1 and the number of "
                         f"annotators ({len(annotators)})")
    if len(set(annotators)) != len(annotators):
        raise StoreError("an annotator is named twice")
    rng = np.random.default_rng(seed)
    existing = existing or {}
    load = Counter({a: 0 for a in annotators})
    for rid in recording_ids:
        for a in existing.get(rid, []):
            if a in load:
                load[a] += 1
    pairs = []
    for i in rng.permutation(len(recording_ids)):
        rid = recording_ids[int(i)]
        have = [a for a in existing.get(rid, []) if a in load]
        need = per_recording - len(have)
        if need <= 0:
            continue
        cands = [a for a in annotators if a not in have]
        draws = rng.random(len(cands))
        chosen = [a for _, _, a in sorted(zip([load[a] for a in cands], draws, cands))[:need]]
        for a in chosen:
            load[a] += 1
            pairs.append((rid, a))
    return pairs


def assign(store: ProjectStore, annotators: list[str], per_recording: int, seed: int = 0) -> dict:
    for a in annotators:
        store.require_person(a)
        if a == "consensus":
            raise StoreError("'consensus' is not an annotator one can assign")
    recs = [r.id for r in store.recordings()]
    pairs = balanced_assignment(recs, annotators, per_recording, seed, store.assignments())
    n = store.add_assignments(pairs)
    load = Counter(a for owners in store.assignments().values() for a in owners if a in annotators)
    return {"new_assignments": n, "recordings": len(recs), "per_recording": per_recording, "seed": seed,
            "load": dict(sorted(load.items()))}
