"""The augmentation panel in the real main window (offscreen Qt, real SPRSound recording)."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import clinaudio_gui.augment as A
from clinaudio_gui.core.project import sidecar_path

pytestmark = pytest.mark.timeout(120)

NAME = "40638274_9.7_1_p2_1801"   # 9.2 s, 8 kHz, CAS & DAS, 4 events


@pytest.fixture(autouse=True)
def _own_qsettings(isolated_qsettings):
    yield isolated_qsettings


@pytest.fixture
def rec_copy(sprsound_dir, tmp_path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    for suf in (".flac", ".json"):
        shutil.copy(sprsound_dir / (NAME + suf), folder / (NAME + suf))
    return folder / (NAME + ".flac")


@pytest.fixture
def win_panel(qtbot, rec_copy):
    from clinaudio_gui.ui.qt_augment_panel import QtAugmentPanel
    from clinaudio_gui.ui.qt_main_window import PANEL_MODULES, QtMainWindow
    assert ("qt_augment_panel", "QtAugmentPanel", "Augment") in PANEL_MODULES
    w = QtMainWindow(load_panels=False)
    qtbot.addWidget(w)
    panel = QtAugmentPanel(w)
    qtbot.addWidget(panel)
    w.resize(1200, 800)
    w.show()
    panel.show()
    with qtbot.waitSignal(w.recordingChanged, timeout=10000):
        assert w.open_path(rec_copy)
    qtbot.waitUntil(lambda: panel.original is not None, timeout=5000)
    yield w, panel
    panel.close()
    w.close()


def test_slider_redraws_within_100_ms_and_preview_is_the_pure_apply(win_panel, qtbot):
    w, panel = win_panel
    assert len(panel.original) == w.current_recording().frames          # the 9.2 s clip
    tl = w.timeline      # let the main window's own drawing workers finish first (2 shared cores)
    qtbot.waitUntil(lambda: tl.is_fully_drawn() and tl.overview_complete(), timeout=20000)
    panel.set_enabled(["PitchShift"])
    panel.select_transform("PitchShift")
    panel.recompute_now()
    with qtbot.waitSignal(panel.previewUpdated, timeout=5000):     # one untimed move: settles the
        panel.set_slider_value(0.0)                                 # preview thread after the set-up
    qtbot.waitUntil(lambda: not panel._busy and not panel._pending, timeout=5000)
    images, times = [], []
    for value in (-2.0, -1.0, 0.5, 2.0, -1.5, 1.0):
        t0 = time.perf_counter()
        # the real path: slider move -> coalescing timer -> preview thread -> GUI draws the result
        with qtbot.waitSignal(panel.previewUpdated, timeout=5000):
            panel.set_slider_value(value)
        qtbot.wait(1)                                                   # let pyqtgraph paint
        times.append((time.perf_counter() - t0) * 1000)
        c = panel.params["children"][0]
        assert c["name"] == "PitchShift" and c["params"]["semitones"] == pytest.approx(value, abs=0.01)
        expect = A.PitchShift().apply(panel.original, panel.sample_rate_hz, c["params"])
        assert np.array_equal(panel.augmented, expect)                  # preview == pure apply of the draw
        images.append(panel.spec_img.image.copy())
    # slider move -> new draw applied -> waveform + spectrogram set and painted: within 100 ms
    # (median; the worst single frame may catch another process on this shared 2-core box)
    assert float(np.median(times)) < 100.0 and max(times) < 250.0, times
    assert not np.array_equal(images[0], images[-1])
    assert "semitones" in panel.slider_label.text()
    # many moves in a burst: the GUI is never blocked and only the last state is shown at the end
    with qtbot.waitSignal(panel.previewUpdated, timeout=5000):
        for value in np.linspace(-2.0, 2.0, 25):
            panel.set_slider_value(float(value))
    qtbot.waitUntil(lambda: not panel._busy and not panel._pending, timeout=5000)
    assert panel.params["children"][0]["params"]["semitones"] == pytest.approx(2.0, abs=0.01)
    assert np.array_equal(panel.augmented, A.PitchShift().apply(panel.original, panel.sample_rate_hz,
                                                                panel.params["children"][0]["params"]))


def test_new_draw_and_freeze(win_panel):
    w, panel = win_panel
    panel.set_enabled(["Gain", "TimeShift"])
    panel.recompute_now()
    first = json.dumps(panel.params)
    out1 = panel.augmented.copy()
    panel.recompute_now()
    assert np.array_equal(panel.augmented, out1)                     # same draw: bit-identical
    panel.new_draw()
    panel.recompute_now()
    assert json.dumps(panel.params) != first
    # frozen: changing a setting keeps the draw
    panel.freeze_box.setChecked(True)
    assert not panel.draw_button.isEnabled()
    held = json.dumps(panel.params)
    panel._setting_changed("Gain", "max_gain_db", 12.0)
    panel.recompute_now()
    assert json.dumps(panel.params) == held and panel.transforms["Gain"].max_gain_db == 12.0
    panel.freeze_box.setChecked(False)
    panel._setting_changed("Gain", "max_gain_db", 11.0)
    panel.recompute_now()
    assert json.dumps(panel.params) != held or panel.transforms["Gain"].max_gain_db == 11.0
    # a bad setting is refused with its value shown, the old transform stays
    panel._setting_changed("Gain", "min_gain_db", 50.0)
    assert "50.0" in panel.info.text() and panel.transforms["Gain"].min_gain_db == -6.0


def test_ab_switch_keeps_the_position_in_the_sound(win_panel, qtbot):
    w, panel = win_panel
    panel.set_enabled(["TimeStretch"])
    panel.select_transform("TimeStretch")
    panel.set_slider_value(0.8)
    panel.recompute_now()
    la, lb = len(panel.original), len(panel.augmented)
    assert lb == round(la / panel.params["children"][0]["params"]["rate"])
    panel.ab_b.setChecked(True)
    panel.toggle_play()
    qtbot.wait(400)
    pos_b = panel.current_position_s()
    panel.ab_a.setChecked(True)                          # switch to the original while playing
    pos_a = panel.current_position_s()
    assert pos_a == pytest.approx(pos_b * la / lb, abs=0.05)
    panel.toggle_play()
    assert not panel._playing


def test_selected_segment_scope_and_add_to_project(win_panel, qtbot):
    w, panel = win_panel
    ann = w.current_annotations()
    seg = ann.sorted_segments()[1]
    w.timeline.select(seg.id)
    assert w.selection_range_s() == pytest.approx((seg.start_s, seg.end_s))
    panel.scope_sel.setChecked(True)
    qtbot.waitUntil(lambda: panel.original is not None and
                    abs(len(panel.original) / panel.sample_rate_hz - seg.duration_s) < 0.01, timeout=5000)
    # whole recording, stretched: written into the project with moved labels, then opened
    panel.scope_whole.setChecked(True)
    panel.set_enabled(["TimeStretch"])
    panel.select_transform("TimeStretch")
    panel.set_slider_value(1.25)
    panel.recompute_now()
    rate = panel.params["children"][0]["params"]["rate"]
    source = [(s.start_s, s.end_s, s.label) for s in ann.sorted_segments()]
    with qtbot.waitSignal(w.recordingChanged, timeout=10000):
        target = panel.add_to_project()
    assert target is not None and target.exists() and sidecar_path(target).exists()
    assert target.parent == w.project().folder
    assert w.current_path() == target.resolve()
    got = [(s.start_s, s.end_s, s.label) for s in w.current_annotations().sorted_segments()]
    assert len(got) == len(source)
    for (a0, a1, la), (b0, b1, lb) in zip(source, got):
        assert b0 == pytest.approx(a0 / rate) and lb == la
    assert w.current_annotations().metadata["augmented_from"] == NAME + ".flac"
    assert w.current_recording().duration_s == pytest.approx(9.216 / rate, abs=0.01)


def test_recipe_save_and_load_round_trip(win_panel, tmp_path):
    w, panel = win_panel
    panel.set_enabled(["AddNoise", "LowPassFilter"])
    panel._setting_changed("AddNoise", "color", "brown")
    path = panel.save_recipe_to(tmp_path / "r.json")
    r = A.load_recipe(path)
    assert [t.name for t in r.pipeline.transforms] == ["AddNoise", "LowPassFilter"]
    assert r.pipeline.transforms[0].color == "brown"
    panel.set_enabled([])
    panel.load_recipe_into_panel(r)
    assert panel.enabled_names() == ["AddNoise", "LowPassFilter"]
    assert panel.transforms["AddNoise"].color == "brown"
    # a spectrogram recipe switches the panel's domain and previews the image
    panel.load_recipe_into_panel(A.load_recipe("taa"))
    panel.recompute_now()
    assert panel.domain == "spectrogram" and panel.augmented.ndim == 2


def test_batch_export_with_progress_and_cancel(win_panel, qtbot, sprsound_dir, tmp_path):
    w, panel = win_panel
    src = tmp_path / "batch_in"
    src.mkdir()
    for f in sorted(sprsound_dir.glob("*.flac"))[:4]:
        shutil.copy(f, src / f.name)
        shutil.copy(f.with_suffix(".json"), src / f.with_suffix(".json").name)
    with qtbot.waitSignal(panel.batchFinished, timeout=60000) as sig:
        panel.start_batch(A.load_recipe("naa"), src, tmp_path / "out", per_file=2, seed=4)
    res = sig.args[0]
    assert not res.cancelled and res.written == 8 and len(list((tmp_path / "out").glob("*.flac"))) == 8
    assert "done" in panel.info.text()
    # cancel: stops after the current file, and the manifest lists exactly what was written
    with qtbot.waitSignal(panel.batchFinished, timeout=60000) as sig:
        panel.start_batch(A.load_recipe("naa"), src, tmp_path / "out2", per_file=6, seed=4)
        panel.cancel_batch()
    res = sig.args[0]
    assert res.cancelled and len(res.processed) < 4
    lines = (tmp_path / "out2" / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == res.written == len(list((tmp_path / "out2").glob("*.flac")))


def test_mix_same_class_in_the_panel_uses_project_recordings_of_the_same_label(qtbot, sprsound_dir, tmp_path):
    import json as _json
    from clinaudio_gui.io import read_sprsound
    from clinaudio_gui.ui.qt_augment_panel import QtAugmentPanel
    from clinaudio_gui.ui.qt_main_window import QtMainWindow
    folder = tmp_path / "proj"
    folder.mkdir()
    by_label: dict[str, list[Path]] = {}
    for j in sorted(sprsound_dir.glob("*.json"))[:30]:
        by_label.setdefault(_json.loads(j.read_text())["record_annotation"], []).append(j)
    chosen = [j for js in by_label.values() for j in js[:2]]
    for j in chosen:
        shutil.copy(j, folder / j.name)
        shutil.copy(j.with_suffix(".flac"), folder / j.with_suffix(".flac").name)
    first = next(j for j in chosen if len(by_label[_json.loads(j.read_text())["record_annotation"]]) >= 2)
    w = QtMainWindow(load_panels=False)
    qtbot.addWidget(w)
    panel = QtAugmentPanel(w)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(w.recordingChanged, timeout=10000):
        assert w.open_path(folder / first.with_suffix(".flac").name)
    qtbot.waitUntil(lambda: panel.original is not None, timeout=5000)
    panel.set_enabled(["MixSameClass"])
    panel.recompute_now()
    partner = panel.params["children"][0]["params"]["partner_path"]
    assert partner is not None and Path(partner).name != first.with_suffix(".flac").name
    assert read_sprsound(Path(partner).with_suffix(".json")).record_label == w.current_annotations().record_label
    assert not np.array_equal(panel.augmented, panel.original)
    panel.close()
    w.close()


def test_add_to_project_spliced_segment(win_panel, qtbot):
    w, panel = win_panel
    ann = w.current_annotations()
    segs = ann.sorted_segments()
    seg = segs[1]
    w.timeline.select(seg.id)
    panel.scope_sel.setChecked(True)
    assert panel.splice_box.isChecked()
    panel.set_enabled(["TimeStretch"])
    panel.select_transform("TimeStretch")
    panel.set_slider_value(0.8)
    panel.recompute_now()
    rate = panel.params["children"][0]["params"]["rate"]
    total = w.current_recording().duration_s
    with qtbot.waitSignal(w.recordingChanged, timeout=10000):
        target = panel.add_to_project()
    new = w.current_recording()
    assert w.current_path() == target.resolve()
    assert new.duration_s == pytest.approx(total + seg.duration_s * (1 / rate - 1), abs=0.01)
    got = w.current_annotations().sorted_segments()
    delta = seg.duration_s * (1 / rate - 1)
    assert (got[0].start_s, got[0].end_s) == pytest.approx((segs[0].start_s, segs[0].end_s), abs=1e-3)
    assert (got[1].start_s, got[1].end_s) == pytest.approx((seg.start_s, seg.start_s + seg.duration_s / rate),
                                                           abs=1e-3)
    for a, b in zip(segs[2:], got[2:]):
        assert (b.start_s, b.end_s) == pytest.approx((a.start_s + delta, a.end_s + delta), abs=1e-3)
    assert w.current_annotations().metadata["augment_spliced"] is True


def test_loaded_naa_previews_one_technique_per_draw(win_panel):
    w, panel = win_panel
    panel.load_recipe_into_panel(A.load_recipe("naa"))
    panel.recompute_now()
    seen = []
    for _ in range(6):
        seen.append(A.applied_names(panel.pipeline(), panel.params))
        assert len(seen[-1]) == 1                       # a OneOf: exactly one technique per draw
        assert np.array_equal(panel.augmented, panel.pipeline().apply(panel.original, panel.sample_rate_hz,
                                                                      panel.params))
        panel.new_draw()
        panel.recompute_now()
    assert sorted(n[0] for n in seen) == sorted(["TimeShift", "PitchShift", "PitchShift", "TimeStretch",
                                                 "TimeStretch", "TrimSilence"])
    # the slider on the drawn technique moves it without leaving the recipe
    while A.applied_names(panel.pipeline(), panel.params) != ["TimeShift"]:
        panel.new_draw()
        panel.recompute_now()
    panel.select_transform("TimeShift")
    panel.set_slider_value(0.25)
    panel.recompute_now()
    assert panel._loaded_recipe is not None and panel.params["params"]["shift_s"] == pytest.approx(0.25, abs=1e-3)
