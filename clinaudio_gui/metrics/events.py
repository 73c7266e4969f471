"""Event-based and segment-based metrics for respiratory sound events, computed by sed_eval.

One protocol, used by the detector's evaluation (``clinaudio evaluate --task events``) and by the
team store's agreement between annotators, so both report the same numbers:

* sed_eval ``EventBasedMetrics`` with ``t_collar`` 0.2 s on the onset and an offset collar of
  max(0.2 s, 20 % of the reference event's length) (``percentage_of_length=0.2``);
* "Normal" cycles are not events (dropped from reference and estimate);
* "Fine Crackle" and "Coarse Crackle" are one class "Crackle";
* "Wheeze+Crackle" (also written "Wheeze & Crackle") counts as a "Wheeze" and a "Crackle" event;
* every recording is evaluated, also those without reference events, so false alarms count;
* segment-based metrics on 1 s segments over each recording's whole duration (when given).

The metric itself is sed_eval's; this module only maps labels and feeds it recording by recording.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence

EVENT_CLASSES = ("Crackle", "Rhonchi", "Stridor", "Wheeze")
T_COLLAR_S = 0.2
PERCENTAGE_OF_LENGTH = 0.2
SEGMENT_S = 1.0

_MAP = {
    "fine crackle": ("Crackle",), "coarse crackle": ("Crackle",), "crackle": ("Crackle",),
    "wheeze": ("Wheeze",), "rhonchi": ("Rhonchi",), "stridor": ("Stridor",),
    "wheeze+crackle": ("Wheeze", "Crackle"), "wheeze & crackle": ("Wheeze", "Crackle"),
    "wheeze&crackle": ("Wheeze", "Crackle"), "wheeze + crackle": ("Wheeze", "Crackle"),
}

Event = tuple[float, float, str]


def protocol() -> dict:
    """The settings, as written into every result (so a figure always says how it was made)."""
    return {"library": "sed_eval", "t_collar_s": T_COLLAR_S, "percentage_of_length": PERCENTAGE_OF_LENGTH,
            "segment_s": SEGMENT_S, "classes": list(EVENT_CLASSES),
            "mapping": "Normal dropped; Fine/Coarse Crackle -> Crackle; Wheeze+Crackle -> Wheeze and Crackle"}


def map_events(events: Iterable[Event]) -> list[Event]:
    """Apply the label protocol; labels outside it (Normal, breath phases, unknown) are dropped."""
    out: list[Event] = []
    for start_s, end_s, label in events:
        for lab in _MAP.get(" ".join(str(label).strip().lower().split()), ()):
            out.append((float(start_s), float(end_s), lab))
    return out


def _sed_eval():
    with warnings.catch_warnings():  # dcase_util imports pkg_resources, which warns on import
        warnings.simplefilter("ignore")
        import sed_eval
    return sed_eval


def _rows(rec_id: str, events: Sequence[Event]) -> list[dict]:
    return [{"filename": rec_id, "event_label": lab, "onset": s, "offset": e} for s, e, lab in events]


def _prf(d: dict) -> dict:
    f = d["f_measure"]
    return {"f": float(f["f_measure"]), "precision": float(f["precision"]), "recall": float(f["recall"]),
            "error_rate": float(d["error_rate"]["error_rate"])}


def _clean(x: float) -> float | None:
    return None if x != x else round(x, 6)  # NaN (no events of a class) -> None in JSON


def event_metrics(reference: Mapping[str, Sequence[Event]], estimated: Mapping[str, Sequence[Event]], *,
                  durations_s: Mapping[str, float] | None = None, map_labels: bool = True) -> dict:
    """Event-based (micro, macro, per class) and 1 s segment-based metrics by sed_eval.

    ``reference`` / ``estimated``: recording id -> list of (start_s, end_s, label). Every id in
    either mapping is evaluated (a recording with no reference events still counts its false
    alarms). ``durations_s`` (id -> seconds) sets each recording's evaluated length for the
    segment-based metric; without it, the last event's offset is used.
    """
    sed_eval = _sed_eval()
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="sed_eval")
    ids = sorted(set(reference) | set(estimated))
    if map_labels:
        classes = list(EVENT_CLASSES)
    else:   # labels as given (e.g. streaming vs offline, Normal included)
        classes = sorted({e[2] for d in (reference, estimated) for v in d.values() for e in v}) or ["-"]
    ev = sed_eval.sound_event.EventBasedMetrics(
        event_label_list=classes, t_collar=T_COLLAR_S, percentage_of_length=PERCENTAGE_OF_LENGTH,
        evaluate_onset=True, evaluate_offset=True)
    seg = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=classes, time_resolution=SEGMENT_S)
    n_ref = n_est = 0
    for rid in ids:
        r = list(reference.get(rid, ()))
        e = list(estimated.get(rid, ()))
        if map_labels:
            r, e = map_events(r), map_events(e)
        n_ref += len(r)
        n_est += len(e)
        ev.evaluate(reference_event_list=_rows(rid, r), estimated_event_list=_rows(rid, e))
        length = None if durations_s is None else durations_s.get(rid)
        if length is None:
            length = max([x[1] for x in r + e], default=0.0)
        if length > 0:
            seg.evaluate(reference_event_list=_rows(rid, r), estimated_event_list=_rows(rid, e),
                         evaluated_length_seconds=float(length))
    overall = _prf(ev.results_overall_metrics())
    macro = _prf(ev.results_class_wise_average_metrics())
    per_class = {}
    for lab, d in ev.results_class_wise_metrics().items():
        row = _prf(d)
        row["n_ref"] = int(d["count"]["Nref"])
        row["n_est"] = int(d["count"]["Nsys"])
        if row["n_ref"] == 0:  # sed_eval divides by eps here: no reference events, no error rate
            row["error_rate"] = float("nan")
        per_class[lab] = {k: (_clean(v) if isinstance(v, float) else v) for k, v in row.items()}
    ers = [v["error_rate"] for v in per_class.values() if v["n_ref"] > 0]
    macro["error_rate"] = sum(ers) / len(ers) if ers else float("nan")
    seg_overall = _prf(seg.results_overall_metrics())
    seg_macro = _prf(seg.results_class_wise_average_metrics())
    seg_macro["error_rate"] = float("nan")  # same eps division for absent classes; not reported
    if n_ref + n_est > 0:  # events exist but none matched: F is 0, not undefined
        for d in (overall, seg_overall):
            d["f"] = 0.0 if d["f"] != d["f"] else d["f"]
    return {
        "protocol": protocol(),
        "n_recordings": len(ids), "n_reference_events": n_ref, "n_estimated_events": n_est,
        "event_based": {"micro": {k: _clean(v) for k, v in overall.items()},
                        "macro": {k: _clean(v) for k, v in macro.items()},
                        "per_class": per_class},
        "segment_based": {"micro": {k: _clean(v) for k, v in seg_overall.items()},
                          "macro": {k: _clean(v) for k, v in seg_macro.items()}},
    }
