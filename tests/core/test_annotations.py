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


def test_undo_back_to_the_saved_state_is_clean_again():
    a = AnnotationSet()
    s = a.add(Segment(0, 1, "Wheeze"))
    a.mark_saved()
    assert not a.dirty
    a.modify(s.id, label="Rhonchi")
    assert a.dirty
    a.undo()
    assert not a.dirty                      # back at the saved state
    a.undo()
    assert a.dirty                          # before the saved state
    a.redo()
    assert not a.dirty
    a.redo()
    assert a.dirty
    # undo past the saved state, then a new edit: the saved state is gone from the history
    a.undo(); a.undo()
    a.add(Segment(2, 3, "Stridor"))
    a.undo()
    assert a.dirty and len(a) == 0          # same depth as when saved, other content


def test_gestures_and_recovered_edits_stay_dirty():
    a = AnnotationSet()
    s = a.add(Segment(1.0, 2.0, "Normal"))
    a.mark_saved()
    with a.gesture("resize"):
        a.modify(s.id, end_s=2.5)
        assert a.dirty                      # mid-drag
        a.mark_saved()                      # saved mid-drag: no undo depth is that state
        a.modify(s.id, end_s=3.0)
    a.undo()
    assert a.dirty and a.get(s.id).end_s == 2.0
    b = AnnotationSet([Segment(0, 1, "Wheeze")])
    b.mark_unsaved()                        # edits recovered from an autosave
    assert b.dirty
    b.add(Segment(2, 3, "Rhonchi")); b.undo()
    assert b.dirty                          # undo cannot reach a saved state it never had
    b.mark_saved()
    assert not b.dirty
