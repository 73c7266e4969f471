import pytest

from clinaudio_gui.core import AnnotationSet, Segment, SPRSOUND_EVENTS, get_schema, LabelSchema
from clinaudio_gui.core.errors import AnnotationFormatError


def test_segment_validation_names_the_bad_value():
    with pytest.raises(ValueError, match="end_s=1.0"):
        Segment(2.0, 1.0, "Wheeze")
    with pytest.raises(ValueError, match="low_hz and high_hz"):
        Segment(0, 1, "x", low_hz=100)
    with pytest.raises(ValueError, match="confidence"):
        Segment(0, 1, "x", confidence=1.5)


def test_add_modify_remove_undo_redo_events():
    a = AnnotationSet()
    seen = []
    a.subscribe(lambda e: seen.append(e.kind))
    s = a.add(Segment(0.5, 1.0, "Wheeze"))
    a.modify(s.id, label="Rhonchi")
    a.set_record_label("CAS")
    a.remove(s.id)
    assert len(a) == 0 and a.record_label == "CAS"
    assert seen == ["added", "modified", "record_label", "removed"]
    assert a.undo() and a.get(s.id).label == "Rhonchi"
    assert a.undo() and a.record_label is None
    assert a.undo() and a.get(s.id).label == "Wheeze"
    assert a.undo() and len(a) == 0
    assert not a.undo()
    for _ in range(4):
        assert a.redo()
    assert len(a) == 0 and a.record_label == "CAS"
    assert not a.redo()


def test_a_drag_gesture_is_one_undo_step():
    a = AnnotationSet()
    s = a.add(Segment(1.0, 2.0, "Normal"))
    with a.gesture("resize"):
        for k in range(20):
            a.modify(s.id, end_s=2.0 + 0.1 * k)
    assert a.get(s.id).end_s == pytest.approx(3.9)
    a.undo()
    assert a.get(s.id).end_s == 2.0
    a.redo()
    assert a.get(s.id).end_s == pytest.approx(3.9)
    a.undo(); a.undo()
    assert len(a) == 0


def test_new_edit_clears_redo():
    a = AnnotationSet()
    a.add(Segment(0, 1, "A"))
    a.undo()
    a.add(Segment(2, 3, "B"))
    assert not a.can_redo()


def test_roundtrip_native_dict():
    a = AnnotationSet([Segment(0.1, 0.2, "Wheeze", low_hz=100, high_hz=800, note="n",
                               source="model", confidence=0.7)], "CAS", {"status": "done"})
    b = AnnotationSet.from_dict(a.to_dict())
    assert a.same_content(b)


def test_schemas(tmp_path):
    assert SPRSOUND_EVENTS.names[:3] == ["Normal", "Rhonchi", "Wheeze"]
    assert SPRSOUND_EVENTS.label_for_shortcut("3") == "Wheeze"
    assert get_schema("icbhi").names == ["normal", "crackle", "wheeze", "both"]
    p = tmp_path / "s.json"
    p.write_text('{"name": "mine", "labels": ["a", {"name": "b", "shortcut": "x"}]}')
    s = get_schema(str(p))
    assert s.names == ["a", "b"] and s.label_for_shortcut("x") == "b"
    p.write_text('{"labels": []}')
    with pytest.raises(AnnotationFormatError, match="s.json"):
        LabelSchema.from_json(p)
    with pytest.raises(ValueError, match="nope"):
        get_schema("nope")
