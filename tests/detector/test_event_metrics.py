"""The event metric is sed_eval's, with the respiratory protocol; checked on a hand-made case
against sed_eval called directly and against counts worked out by hand."""
import json
import subprocess
import sys

import pytest

from clinaudio_gui.metrics.events import event_metrics, map_events

REF = {"a": [(1.0, 2.0, "Fine Crackle"), (3.0, 4.0, "Wheeze+Crackle"), (5.0, 6.0, "Normal")],
       "b": [],
       "c": [(0.5, 2.5, "Wheeze")]}
EST = {"a": [(1.1, 2.1, "Coarse Crackle"), (3.5, 4.0, "Wheeze"), (5.0, 6.0, "Normal")],
       "b": [(0.0, 1.0, "Stridor")],
       "c": [(0.6, 2.2, "Wheeze")]}


def test_protocol_mapping():
    assert map_events([(0, 1, "Normal")]) == []
    assert map_events([(0, 1, "Wheeze+Crackle")]) == [(0.0, 1.0, "Wheeze"), (0.0, 1.0, "Crackle")]
    assert map_events([(0, 1, "coarse  crackle")]) == [(0.0, 1.0, "Crackle")]


def test_hand_made_case_by_hand():
    r = event_metrics(REF, EST, durations_s={"a": 8, "b": 8, "c": 8})
    # reference events after mapping: Crackle a1, Wheeze a2, Crackle a2, Wheeze c  -> 4
    # estimates: Crackle a (onset +0.1, offset +0.1: hit), Wheeze a (onset +0.5: miss),
    #            Stridor b (false alarm), Wheeze c (onset +0.1, offset -0.3 <= 20 % of 2.0 s: hit) -> 4
    assert r["n_reference_events"] == 4 and r["n_estimated_events"] == 4
    micro = r["event_based"]["micro"]
    assert micro["precision"] == pytest.approx(2 / 4)
    assert micro["recall"] == pytest.approx(2 / 4)
    assert micro["f"] == pytest.approx(0.5)
    pc = r["event_based"]["per_class"]
    assert pc["Crackle"]["f"] == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    assert pc["Stridor"]["n_est"] == 1 and pc["Stridor"]["n_ref"] == 0


def test_equals_sed_eval_called_directly():
    import dcase_util  # noqa: F401  (sed_eval's container type)
    import sed_eval
    labels = ["Crackle", "Rhonchi", "Stridor", "Wheeze"]
    m = sed_eval.sound_event.EventBasedMetrics(event_label_list=labels, t_collar=0.2, percentage_of_length=0.2)
    for rid in sorted(REF):
        rows = lambda evs: [{"filename": rid, "event_label": lab, "onset": s, "offset": e}  # noqa: E731
                            for s, e, lab in map_events(evs)]
        m.evaluate(rows(REF[rid]), rows(EST[rid]))
    direct = m.results_overall_metrics()
    ours = event_metrics(REF, EST)["event_based"]["micro"]
    assert ours["f"] == pytest.approx(direct["f_measure"]["f_measure"])
    assert ours["error_rate"] == pytest.approx(direct["error_rate"]["error_rate"])


def test_recording_without_events_counts_false_alarms():
    only_fa = event_metrics({"x": []}, {"x": [(0, 1, "Wheeze")]})
    assert only_fa["event_based"]["micro"]["precision"] == 0.0
    assert only_fa["event_based"]["micro"]["f"] == 0.0
