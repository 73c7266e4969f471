"""Label schemas: the names a user can apply, with colours and keyboard shortcuts."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from clinaudio_gui.core.errors import AnnotationFormatError

# A colour-blind-friendly palette (Okabe-Ito + extras), hex RGB.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
           "#F0E442", "#999999", "#882255", "#44AA99"]


@dataclass(frozen=True)
class Label:
    name: str
    color: str
    shortcut: str = ""


@dataclass(frozen=True)
class LabelSchema:
    name: str
    labels: tuple[Label, ...]
    record_labels: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        return [lab.name for lab in self.labels]

    def color_of(self, name: str) -> str:
        for lab in self.labels:
            if lab.name == name:
                return lab.color
        return "#999999"

    def label_for_shortcut(self, key: str) -> str | None:
        for lab in self.labels:
            if lab.shortcut == key:
                return lab.name
        return None

    def to_dict(self) -> dict:
        return {"name": self.name,
                "labels": [{"name": lab.name, "color": lab.color, "shortcut": lab.shortcut}
                           for lab in self.labels],
                "record_labels": list(self.record_labels)}

    @classmethod
    def from_names(cls, name: str, names: list[str], record_labels: list[str] = ()) -> "LabelSchema":
        labels = tuple(Label(n, PALETTE[i % len(PALETTE)], str(i + 1) if i < 9 else "")
                       for i, n in enumerate(names))
        return cls(name, labels, tuple(record_labels))

    @classmethod
    def from_json(cls, path: str | Path) -> "LabelSchema":
        """A custom schema: {"name": ..., "labels": ["A", {"name": "B", "color": "#f00", "shortcut": "2"}],
        "record_labels": [...]}."""
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise AnnotationFormatError(f"cannot read label schema: {e}", path=path) from None
        if not isinstance(d, dict) or not isinstance(d.get("labels"), list) or not d["labels"]:
            raise AnnotationFormatError("a schema needs a non-empty 'labels' list", path=path, field="labels")
        labels = []
        for i, item in enumerate(d["labels"]):
            if isinstance(item, str):
                item = {"name": item}
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
                raise AnnotationFormatError(f"label #{i} needs a 'name'", path=path, field=f"labels[{i}]")
            labels.append(Label(item["name"], str(item.get("color") or PALETTE[i % len(PALETTE)]),
                                str(item.get("shortcut", str(i + 1) if i < 9 else ""))))
        rec = d.get("record_labels", [])
        if not isinstance(rec, list) or not all(isinstance(r, str) for r in rec):
            raise AnnotationFormatError("'record_labels' must be a list of strings", path=path,
                                        field="record_labels")
        return cls(str(d.get("name") or path.stem), tuple(labels), tuple(rec))


SPRSOUND_EVENT_LABELS = ["Normal", "Rhonchi", "Wheeze", "Stridor", "Coarse Crackle",
                         "Fine Crackle", "Wheeze+Crackle"]
SPRSOUND_RECORD_LABELS = ["Normal", "CAS", "DAS", "CAS & DAS", "Poor Quality"]
ICBHI_CYCLE_LABELS = ["normal", "crackle", "wheeze", "both"]
BREATH_PHASE_LABELS = ["Inhalation", "Exhalation"]   # HF_Lung I / E: breath phases, not sound classes

SPRSOUND_EVENTS = LabelSchema.from_names("sprsound-events", SPRSOUND_EVENT_LABELS, SPRSOUND_RECORD_LABELS)
SPRSOUND_RECORDS = LabelSchema.from_names("sprsound-records", SPRSOUND_RECORD_LABELS, SPRSOUND_RECORD_LABELS)
ICBHI_CYCLES = LabelSchema.from_names("icbhi-cycles", ICBHI_CYCLE_LABELS, [])
BREATH_PHASES = LabelSchema.from_names("breath-phases", BREATH_PHASE_LABELS, [])

BUILTIN_SCHEMAS = {s.name: s for s in (SPRSOUND_EVENTS, SPRSOUND_RECORDS, ICBHI_CYCLES, BREATH_PHASES)}


def get_schema(name_or_path: str) -> LabelSchema:
    """A built-in schema by name (also 'sprsound', 'icbhi'), or a custom one from a JSON file."""
    aliases = {"sprsound": "sprsound-events", "icbhi": "icbhi-cycles"}
    key = aliases.get(name_or_path, name_or_path)
    if key in BUILTIN_SCHEMAS:
        return BUILTIN_SCHEMAS[key]
    p = Path(name_or_path)
    if p.suffix.lower() == ".json" or p.exists():
        return LabelSchema.from_json(p)
    raise ValueError(f"schema={name_or_path!r} is neither a built-in schema "
                     f"({', '.join(BUILTIN_SCHEMAS)}) nor a JSON file")
