"""The patient-wise split and the SPRSound items."""
from clinaudio_gui.engine.common import data as D


def test_split_has_no_patient_in_both_parts(sprsound_dir):
    patients = D.folder_patients(sprsound_dir)
    for level in ("record", "event"):
        items = D.load_items(sprsound_dir, level)
        tr, va, tr_p, va_p = D.split_items(items, val_fraction=0.2, seed=0, patients=patients)
        assert not set(tr_p) & set(va_p)
        assert {i.patient for i in tr}.isdisjoint({i.patient for i in va})
        assert len(tr) + len(va) == len(items)
        assert 0.15 < len(va_p) / len(patients) < 0.25
    # deterministic and the same for both levels
    assert D.patient_split(patients, seed=0) == D.patient_split(list(reversed(patients)), seed=0)


def test_items_follow_the_json(sprsound_dir):
    recs = D.load_items(sprsound_dir, "record")
    assert len(recs) == 1949
    assert {r.label for r in recs} == set(D.RECORD_LABELS)
    evs = D.load_items(sprsound_dir, "event")
    assert len(evs) > 6500 and {e.label for e in evs} == set(D.EVENT_LABELS)
    assert all(e.end_s > e.start_s for e in evs)


def test_task_merge():
    assert D.to_task_label("Fine Crackle", "1-1") == "Adventitious"
    assert D.to_task_label("CAS & DAS", "2-1") == "Adventitious"
    assert D.to_task_label("Poor Quality", "2-1") == "Poor Quality"
    assert D.to_task_label("Stridor", "1-2") == "Stridor"
