"""Label mapping on import: a format's own labels onto the active label schema.

Every reader returns the labels exactly as the file spells them; :func:`map_to_schema` then
turns them into the names of the active schema (``read_annotations`` does this by default,
onto the built-in ``sprsound-events`` schema), so that one project keeps one vocabulary.

A label is matched, in this order:

1. exactly, or after normalising case, spacing, ``_`` / ``-`` and ``&`` / ``+``
   ("wheeze", "FINE_CRACKLE", "fine  crackle", "Wheeze & Crackle" -> the schema's spelling);
2. through the synonym table below (ICBHI cycle classes, HF_Lung types, plural / common
   clinical names), the first candidate that the schema (or the breath-phase label set) holds
   wins: ICBHI "crackle" -> "DAS" under the SPRSound schema, but stays "crackle" under the
   ICBHI schema.

A label that matches nothing is kept unchanged (never dropped) and listed, once per file, in
``metadata["unmatched_labels"]``; :func:`label_message` words that list for the user.
``metadata["label_map"]`` records each {file label: schema label} that was changed.

"DAS" / "CAS" are SPRSound's own names for discontinuous / continuous adventitious sounds
(its record-level classes); they stand for events whose sub-type the source does not give
(ICBHI crackle, HF_Lung D and C), rather than guessing fine or coarse crackle.
"""
from __future__ import annotations

import re

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.schema import BREATH_PHASES, LabelSchema, get_schema

DEFAULT_SCHEMA = "sprsound-events"

# normalised label -> candidate schema names, first held by the schema wins (any format)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "normal": ("Normal", "normal"),
    "crackle": ("DAS", "crackle"), "crackles": ("DAS", "crackle"), "das": ("DAS", "crackle"),
    "discontinuous adventitious sound": ("DAS", "crackle"),
    "wheeze": ("Wheeze", "wheeze"), "wheezes": ("Wheeze", "wheeze"), "wheezing": ("Wheeze", "wheeze"),
    "cas": ("CAS", "wheeze"), "continuous adventitious sound": ("CAS", "wheeze"),
    "both": ("Wheeze+Crackle", "both"), "wheeze+crackle": ("Wheeze+Crackle", "both"),
    "crackle+wheeze": ("Wheeze+Crackle", "both"), "wheezes+crackles": ("Wheeze+Crackle", "both"),
    "crackles+wheezes": ("Wheeze+Crackle", "both"),
    "fine crackle": ("Fine Crackle", "crackle"), "fine crackles": ("Fine Crackle", "crackle"),
    "coarse crackle": ("Coarse Crackle", "crackle"), "coarse crackles": ("Coarse Crackle", "crackle"),
    "rhonchi": ("Rhonchi", "wheeze"), "rhonchus": ("Rhonchi", "wheeze"),
    "stridor": ("Stridor", "wheeze"), "stridors": ("Stridor", "wheeze"),
    "inhalation": ("Inhalation",), "inspiration": ("Inhalation",), "inhale": ("Inhalation",),
    "exhalation": ("Exhalation",), "expiration": ("Exhalation",), "exhale": ("Exhalation",),
    "cas+das": ("CAS & DAS",), "poor quality": ("Poor Quality",),
}
# one-letter codes only mean something in their own format
FORMAT_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "hflung": {"i": ("Inhalation",), "e": ("Exhalation",), "d": ("DAS", "crackle"), "c": ("CAS", "wheeze")},
}
_SEP = re.compile(r"[\s_\-]+")
_JOIN = re.compile(r"\s*[&+]\s*")


def normalize(label: str) -> str:
    """Case-, spacing- and separator-insensitive key: 'FINE_CRACKLE' -> 'fine crackle',
    'Wheeze & Crackle' -> 'wheeze+crackle'."""
    s = _SEP.sub(" ", label.casefold()).strip()
    s = _JOIN.sub("+", s)
    return s.replace(" and ", "+") if "+" not in s and s.count(" and ") == 1 else s


def _resolve(schema: LabelSchema | str | None) -> LabelSchema | None:
    if schema is None or isinstance(schema, LabelSchema):
        return schema
    return get_schema(schema)


class _Matcher:
    def __init__(self, names, fmt: str | None):
        self.by_key: dict[str, str] = {}
        for n in names:
            self.by_key.setdefault(normalize(n), n)
        self.syn = dict(SYNONYMS)
        self.syn.update(FORMAT_SYNONYMS.get(fmt or "", {}))

    def __call__(self, label: str) -> str | None:
        if not label.strip():
            return label
        key = normalize(label)
        if key in self.by_key:
            return self.by_key[key]
        for cand in self.syn.get(key, ()):
            hit = self.by_key.get(normalize(cand))
            if hit is not None:
                return hit
        return None


def map_to_schema(a: AnnotationSet, schema: LabelSchema | str | None = DEFAULT_SCHEMA,
                  fmt: str | None = None) -> AnnotationSet:
    """A copy of ``a`` with its labels in the schema's vocabulary (see the module docstring).
    ``fmt`` is the source format (enables its own codes, e.g. HF_Lung's I/E/D/C). The
    breath-phase labels (Inhalation / Exhalation) are known under every schema.
    ``schema=None`` returns ``a`` unchanged."""
    schema = _resolve(schema)
    if schema is None:
        return a
    fmt = fmt or a.metadata.get("source_format")
    events = _Matcher(list(schema.names) + list(schema.record_labels) + BREATH_PHASES.names, fmt)
    records = _Matcher(schema.record_labels, fmt) if schema.record_labels else None
    changed: dict[str, str] = {}
    unmatched: set[str] = set()
    segs = []
    for s in a.segments:
        new = events(s.label)
        if new is None:
            unmatched.add(s.label)
            new = s.label
        elif new != s.label:
            changed[s.label] = new
        segs.append(s if new == s.label else s.replace(label=new))
    rec = a.record_label
    if rec and records is not None:     # a schema without record labels leaves the record label alone
        new = records(rec)
        if new is None:
            unmatched.add(rec)
        elif new != rec:
            changed[rec] = new
            rec = new
    md = a.metadata
    md["label_schema"] = schema.name
    if changed:
        md["label_map"] = dict(sorted(changed.items()))
    if unmatched:
        md["unmatched_labels"] = sorted(unmatched)
    return AnnotationSet(segs, rec, md)


def label_message(a: AnnotationSet) -> str | None:
    """One line listing the labels kept unmatched (None when all matched)."""
    un = a.metadata.get("unmatched_labels") or []
    if not un:
        return None
    schema = a.metadata.get("label_schema", "the schema")
    shown = ", ".join(repr(u) for u in un[:12]) + (f" and {len(un) - 12} more" if len(un) > 12 else "")
    return f"{len(un)} label(s) match nothing in {schema} and are kept as they are: {shown}"


def mapping_message(a: AnnotationSet) -> str | None:
    """One line listing the labels that were renamed (None when none were)."""
    m = a.metadata.get("label_map") or {}
    if not m:
        return None
    return f"labels mapped onto {a.metadata.get('label_schema', 'the schema')}: " + ", ".join(
        f"{k} -> {v}" for k, v in m.items())
