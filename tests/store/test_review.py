"""Disagreements between annotators and the consensus built from one choice per disagreement."""
from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.segment import Segment
from clinaudio_gui.store.review import build_consensus, disagreements, spans


def sets():
    a = AnnotationSet([Segment(0.0, 1.0, "Wheeze"), Segment(2.0, 3.0, "Fine Crackle"), Segment(5, 6, "Rhonchi")],
                      "CAS & DAS")
    b = AnnotationSet([Segment(0.1, 1.1, "Wheeze"), Segment(2.0, 3.0, "Coarse Crackle")], "CAS")
    return {"alice": a, "bob": b}


def test_spans_and_disagreements():
    sp = spans(sets())
    assert [(s.start_s, s.end_s, s.agreed) for s in sp] == [(0.0, 1.1, True), (2.0, 3.0, False), (5, 6, False)]
    items = disagreements(sets())
    assert [i.kind for i in items] == ["record", "events", "events"]
    assert items[0].labels == {"alice": "CAS & DAS", "bob": "CAS"}
    assert [s.label for s in items[2].events["alice"]] == ["Rhonchi"] and items[2].events["bob"] == []
    # an onset 0.3 s apart is outside the collar: a disagreement
    a = AnnotationSet([Segment(0.0, 1.0, "Wheeze")])
    b = AnnotationSet([Segment(0.3, 1.0, "Wheeze")])
    assert [s.agreed for s in spans({"a": a, "b": b})] == [False]


def test_consensus_one_choice_per_disagreement():
    s = sets()
    c = build_consensus(s, {})
    assert [(x.label, x.annotator) for x in c.segments] == [("Wheeze", "alice")]
    assert c.record_label is None and c.segments[0].note.startswith("agreed")
    c = build_consensus(s, {"record": "bob", 1: "bob", 2: "bob"})
    assert [(x.start_s, x.label, x.annotator) for x in c.segments] == [(0.0, "Wheeze", "alice"),
                                                                        (2.0, "Coarse Crackle", "bob")]
    assert c.record_label == "CAS" and "bob" in c.segments[1].note
    c = build_consensus(s, {"record": "alice", 1: "alice", 2: "alice"})
    assert [x.label for x in c.segments] == ["Wheeze", "Fine Crackle", "Rhonchi"]
    assert c.metadata["consensus_of"] == ["alice", "bob"]
