"""Adjudication: where annotators disagree, and the consensus set built from choices.

Events of all annotators that overlap in time (transitively) form one *span*. A span is agreed
when every annotator has the same labels there with onsets within 0.2 s and offsets within
max(0.2 s, 20 % of the event) - the sed_eval collar of the agreement figures - otherwise it is a
disagreement. The record label is one more item. The consensus takes agreed spans as they are
and, for each disagreement, the version of the annotator chosen for it (one click); every
consensus segment keeps in ``annotator`` whose label it was and in ``note`` how it got there.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.segment import Segment

T_COLLAR_S = 0.2
OFFSET_FRACTION = 0.2
RECORD = "record"


@dataclass
class Span:
    """Overlapping events of all annotators between ``start_s`` and ``end_s``."""

    index: int
    start_s: float
    end_s: float
    events: dict[str, list[Segment]] = field(default_factory=dict)   # owner -> events in the span
    agreed: bool = False

    @property
    def kind(self) -> str:
        return "events"


@dataclass
class RecordItem:
    labels: dict[str, str | None]
    agreed: bool
    index: int = -1
    kind: str = RECORD


def _same(a: list[Segment], b: list[Segment]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(sorted(a, key=lambda s: (s.start_s, s.label)), sorted(b, key=lambda s: (s.start_s, s.label))):
        if x.label != y.label or abs(x.start_s - y.start_s) > T_COLLAR_S:
            return False
        if abs(x.end_s - y.end_s) > max(T_COLLAR_S, OFFSET_FRACTION * x.duration_s):
            return False
    return True


def spans(sets: dict[str, AnnotationSet]) -> list[Span]:
    """The spans of overlapping events across annotators, in time order."""
    owners = sorted(sets)
    allev = sorted(((s.start_s, s.end_s, o, s) for o in owners for s in sets[o].segments),
                   key=lambda t: (t[0], t[1]))
    out: list[Span] = []
    cur: Span | None = None
    for start, end, owner, seg in allev:
        if cur is None or start >= cur.end_s:
            cur = Span(len(out), start, end, {o: [] for o in owners})
            out.append(cur)
        cur.end_s = max(cur.end_s, end)
        cur.events[owner].append(seg)
    for sp in out:
        evs = list(sp.events.values())
        sp.agreed = all(_same(evs[0], e) for e in evs[1:])
    return out


def record_item(sets: dict[str, AnnotationSet]) -> RecordItem:
    labels = {o: sets[o].record_label for o in sorted(sets)}
    return RecordItem(labels, len(set(labels.values())) <= 1)


def disagreements(sets: dict[str, AnnotationSet]) -> list[Span | RecordItem]:
    """The items a reviewer must decide: the record label if it differs, then each disputed span."""
    items: list[Span | RecordItem] = []
    rec = record_item(sets)
    if not rec.agreed:
        items.append(rec)
    items += [s for s in spans(sets) if not s.agreed]
    return items


def build_consensus(sets: dict[str, AnnotationSet], choices: dict[int | str, str | None],
                    *, base: AnnotationSet | None = None) -> AnnotationSet:
    """The consensus set: agreed spans (from the first annotator, noted as agreed), each disputed
    span from the annotator chosen for it (``choices[span.index]``; None or missing: left out,
    still to decide), the record label agreed or chosen (``choices["record"]``)."""
    owners = sorted(sets)
    segs: list[Segment] = []
    for sp in spans(sets):
        if sp.agreed:
            who = owners[0]
            note = "agreed: " + ", ".join(owners)
        else:
            who = choices.get(sp.index)
            if who is None:
                continue
            note = f"chosen from {who} (disagreement {sp.index})"
        for s in sp.events.get(who, []):
            segs.append(Segment(s.start_s, s.end_s, s.label, s.low_hz, s.high_hz, annotator=who, source=s.source,
                                confidence=s.confidence, note=note))
    rec = record_item(sets)
    label = next(iter(rec.labels.values()), None) if rec.agreed else (
        sets[choices[RECORD]].record_label if choices.get(RECORD) in sets else None)
    md = dict(base.metadata) if base is not None else {}
    md["consensus_of"] = owners
    return AnnotationSet(segs, label, md)
