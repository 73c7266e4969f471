"""Patient context of a recording (patient, age, sex, chest location): from its file name or a CSV.

Sources, first match wins:

1. **A sidecar CSV** in the recording's folder: ``clinaudio_metadata.csv`` (or ``metadata.csv``)
   with a header row. One column names the recording: ``file`` / ``recording`` / ``filename``
   (the file name, with or without its extension); the others are optional: ``patient``,
   ``age`` (years), ``sex`` (M / F / male / female / 0 / 1 as in SPRSound), ``location``
   (a code or free text) and any other column, kept in :attr:`PatientInfo.extra`. Use it for
   datasets whose names carry no metadata.
2. **A registered file-name pattern**: a regular expression with named groups
   ``patient`` (required), ``age``, ``sex``, ``location`` and any others (kept in ``extra``),
   plus optional value maps for sex and location codes. Two are built in:

   - SPRSound ``patient_age_gender_location_number`` (``40638274_9.7_1_p2_1801``): gender 0 = male,
     1 = female; p1..p4 = left posterior, left lateral, right posterior, right lateral.
   - ICBHI 2017 ``patient_recordingindex_chestlocation_acquisitionmode_device``
     (``101_1b1_Al_sc_Meditron``): Tc = trachea, A/P/L + l/r = anterior / posterior / lateral
     left / right. ICBHI names carry no age or sex; they come from the database's demographic
     file (``demographic_info.txt`` or ``ICBHI_Challenge_demographic_information.txt``:
     ``patient age sex ...`` per line) when it lies in the folder, or from a sidecar CSV.

   Add one for another dataset with :func:`register_name_pattern`::

       register_name_pattern(NamePattern("mydata", r"^(?P<patient>P\\d+)-(?P<location>[A-Z]+)-\\d+$",
                                         locations={"LUL": "left upper lobe"}))

A malformed CSV raises :class:`AnnotationFormatError` naming the file, the line and the problem.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from clinaudio_gui.core.errors import AnnotationFormatError
from clinaudio_gui.io.sprsound import LOCATIONS as SPRSOUND_LOCATIONS
from clinaudio_gui.io.sprsound import file_stem

SIDECAR_NAMES = ("clinaudio_metadata.csv", "metadata.csv")
ICBHI_DEMOGRAPHIC_NAMES = ("demographic_info.txt", "ICBHI_Challenge_demographic_information.txt")
ICBHI_LOCATIONS = {"Tc": "trachea", "Al": "left anterior", "Ar": "right anterior", "Pl": "left posterior",
                   "Pr": "right posterior", "Ll": "left lateral", "Lr": "right lateral"}
_SEX = {"m": "male", "male": "male", "f": "female", "female": "female"}
_FILE_COLUMNS = ("file", "recording", "filename")


@dataclass(frozen=True)
class PatientInfo:
    patient: str | None = None
    age_years: float | None = None
    sex: str | None = None              # "male" / "female" / as written
    location: str | None = None         # the code as written (p2, Al)
    location_name: str | None = None    # "left lateral" (the code when it has no known name)
    source: str = ""                    # "sprsound name", "icbhi name", "csv:<path>", ...
    extra: dict = field(default_factory=dict)

    @property
    def age_text(self) -> str:
        if self.age_years is None:
            return ""
        return f"{self.age_years:g}"


@dataclass(frozen=True)
class NamePattern:
    """A file-name convention: ``regex`` (named groups) matched against the name without extension."""

    name: str
    regex: str
    sex_codes: dict = field(default_factory=dict)       # code as written -> "male" / "female"
    locations: dict = field(default_factory=dict)       # code -> readable name

    def parse(self, stem: str) -> PatientInfo | None:
        m = re.match(self.regex, stem)
        if not m or not m.groupdict().get("patient"):
            return None
        d = m.groupdict()
        loc = d.get("location")
        extra = {k: v for k, v in d.items() if k not in ("patient", "age", "sex", "location") and v is not None}
        return PatientInfo(patient=d["patient"], age_years=_age(d.get("age")),
                           sex=_sex(d.get("sex"), self.sex_codes), location=loc,
                           location_name=self.locations.get(loc, loc) if loc else None,
                           source=f"{self.name} name", extra=extra)


_PATTERNS: list[NamePattern] = [
    NamePattern("sprsound", r"^(?P<patient>\d+)_(?P<age>\d+(?:\.\d+)?)_(?P<sex>[01])_(?P<location>p[1-4])_(?P<number>\d+)$",
                sex_codes={"0": "male", "1": "female"}, locations=dict(SPRSOUND_LOCATIONS)),
    NamePattern("icbhi", r"^(?P<patient>\d{3})_(?P<index>\w+?)_(?P<location>Tc|[APL][lr])_(?P<mode>sc|mc)_(?P<device>\w+)$",
                locations=dict(ICBHI_LOCATIONS)),
]


def register_name_pattern(pattern: NamePattern, *, first: bool = True) -> None:
    """Add a file-name convention (tried before the built-in ones unless ``first=False``)."""
    re.compile(pattern.regex)   # a bad expression fails here, not on the first file
    _PATTERNS[:] = [p for p in _PATTERNS if p.name != pattern.name]
    if first:
        _PATTERNS.insert(0, pattern)
    else:
        _PATTERNS.append(pattern)


def name_patterns() -> list[NamePattern]:
    return list(_PATTERNS)


def parse_name(path_or_stem: str | Path) -> PatientInfo | None:
    """Patient context from a file name alone (None when no registered pattern matches)."""
    stem = file_stem(path_or_stem)
    for p in _PATTERNS:
        info = p.parse(stem)
        if info is not None:
            return info
    return None


def _age(v) -> float | None:
    if v is None or str(v).strip() in ("", "NA", "nan"):
        return None
    try:
        return float(str(v).strip())
    except ValueError:
        return None


def _sex(v, codes: dict | None = None) -> str | None:
    if v is None or str(v).strip() in ("", "NA"):
        return None
    s = str(v).strip()
    if codes and s in codes:
        return codes[s]
    return _SEX.get(s.lower(), s)


def read_metadata_csv(path: str | Path) -> dict[str, PatientInfo]:
    """A sidecar CSV -> {file stem: PatientInfo}. Raises AnnotationFormatError on a malformed file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise AnnotationFormatError(f"cannot read metadata CSV ({e})", path=path) from None
    try:
        rows = list(csv.reader(text.splitlines()))
    except csv.Error as e:
        raise AnnotationFormatError(f"not a CSV file ({e})", path=path) from None
    if not rows:
        raise AnnotationFormatError("empty metadata CSV (needs a header row with a 'file' column)", path=path)
    header = [h.strip().lower() for h in rows[0]]
    key = next((c for c in _FILE_COLUMNS if c in header), None)
    if key is None:
        raise AnnotationFormatError(f"no column naming the recording (one of {', '.join(_FILE_COLUMNS)})",
                                    path=path, line=1)
    out: dict[str, PatientInfo] = {}
    for ln, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(header):
            raise AnnotationFormatError(f"{len(row)} fields, the header has {len(header)}", path=path, line=ln)
        d = {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header)}
        if not d[key]:
            raise AnnotationFormatError(f"empty '{key}'", path=path, line=ln, field=key)
        age = d.get("age", "")
        if age and _age(age) is None:
            raise AnnotationFormatError(f"age {age!r} is not a number of years", path=path, line=ln, field="age")
        loc = d.get("location") or None
        extra = {k: v for k, v in d.items() if k not in (key, "patient", "age", "sex", "location") and v}
        out[file_stem(d[key])] = PatientInfo(patient=d.get("patient") or None, age_years=_age(age),
                                             sex=_sex(d.get("sex")), location=loc,
                                             location_name=ICBHI_LOCATIONS.get(loc, SPRSOUND_LOCATIONS.get(loc, loc))
                                             if loc else None, source=f"csv:{path.name}", extra=extra)
    return out


def read_icbhi_demographics(path: str | Path) -> dict[str, tuple[float | None, str | None]]:
    """ICBHI demographic file (``patient age sex adult_BMI child_weight child_height``) -> {patient: (age, sex)}."""
    path = Path(path)
    out = {}
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise AnnotationFormatError(f"cannot read ICBHI demographics ({e})", path=path) from None
    for ln, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 3 or not parts[0].isdigit():
            raise AnnotationFormatError("expected 'patient age sex ...'", path=path, line=ln)
        out[parts[0]] = (_age(parts[1]), _sex(parts[2]))
    return out


class MetadataIndex:
    """Patient context for the recordings of one or more folders; sidecar files are read once per folder."""

    def __init__(self):
        self._csv: dict[Path, dict[str, PatientInfo]] = {}
        self._demo: dict[Path, dict] = {}
        self.problems: list[str] = []       # malformed sidecar files (one line each), never raised twice

    def _folder_csv(self, folder: Path) -> dict[str, PatientInfo]:
        if folder not in self._csv:
            table: dict[str, PatientInfo] = {}
            for name in SIDECAR_NAMES:
                p = folder / name
                if p.is_file():
                    try:
                        table = read_metadata_csv(p)
                    except AnnotationFormatError as e:
                        self.problems.append(str(e))
                    break
            self._csv[folder] = table
        return self._csv[folder]

    def _folder_demographics(self, folder: Path) -> dict:
        if folder not in self._demo:
            table = {}
            for name in ICBHI_DEMOGRAPHIC_NAMES:
                p = folder / name
                if p.is_file():
                    try:
                        table = read_icbhi_demographics(p)
                    except AnnotationFormatError as e:
                        self.problems.append(str(e))
                    break
            self._demo[folder] = table
        return self._demo[folder]

    def lookup(self, audio_path: str | Path) -> PatientInfo:
        """The recording's patient context (an empty PatientInfo when nothing is known)."""
        p = Path(audio_path)
        stem = file_stem(p)
        row = self._folder_csv(p.parent).get(stem)
        named = parse_name(stem)
        if row is not None:
            if named is None:
                return row
            # the CSV wins field by field; the name fills what it leaves empty
            return PatientInfo(patient=row.patient or named.patient,
                               age_years=row.age_years if row.age_years is not None else named.age_years,
                               sex=row.sex or named.sex, location=row.location or named.location,
                               location_name=row.location_name or named.location_name,
                               source=row.source, extra={**named.extra, **row.extra})
        if named is None:
            return PatientInfo()
        if named.patient and (named.age_years is None or named.sex is None):
            age, sex = self._folder_demographics(p.parent).get(named.patient, (None, None))
            if age is not None or sex is not None:
                return PatientInfo(patient=named.patient, age_years=named.age_years if named.age_years is not None
                                   else age, sex=named.sex or sex, location=named.location,
                                   location_name=named.location_name, source=named.source, extra=named.extra)
        return named
