"""scan_labeled on the real SPRSound / ICBHI folders and on a mixed folder."""
from __future__ import annotations

import shutil
from collections import Counter

import pytest

from clinaudio_gui.core import AnnotationFormatError, AnnotationSet, Segment
from clinaudio_gui.core.project import write_annotation_file
from clinaudio_gui.io import write_annotations
from clinaudio_gui.io.dataset import scan_labeled


def test_sprsound_train(sprsound_dir):
    items = scan_labeled(sprsound_dir)
    assert len(items) == 1949
    assert len({it.patient for it in items}) == 251
    audio, ann_path, ann, patient = items[0]          # unpacks as the four documented fields
    assert audio.suffix == ".flac" and ann_path.suffix == ".json" and patient == audio.name.split("_")[0]
    assert Counter(it.record_label for it in items)["Normal"] == 1303
    assert sum(len(it.annotations) for it in items) == 6656
    assert {it.annotation_format for it in items} == {"sprsound"}
    assert items[0].name_info["location"] in ("p1", "p2", "p3", "p4")


def test_icbhi_sample(icbhi_dir):
    items = scan_labeled(icbhi_dir)
    assert len(items) == 10 and {it.patient for it in items} == {"101", "102", "103", "104"}
    assert {it.annotation_format for it in items} == {"icbhi"}
    assert {it.patient: it.diagnosis for it in items}["102"] == "Healthy"


def test_mixed_folder_sidecar_first_unlabeled_and_errors(tmp_path, sprsound_dir, icbhi_dir):
    a = tmp_path / "a"
    a.mkdir()
    stem = "40638274_9.7_1_p2_1801"
    shutil.copy(sprsound_dir / f"{stem}.flac", a)
    shutil.copy(sprsound_dir / f"{stem}.json", a)
    edited = AnnotationSet([Segment(0, 1, "Wheeze")], "CAS")
    write_annotation_file(a / f"{stem}.clinaudio.json", edited)         # the sidecar wins over the JSON
    sub = tmp_path / "b" / "deeper"
    sub.mkdir(parents=True)
    shutil.copy(icbhi_dir / "101_1b1_Al_sc_Meditron.wav", sub / "rec one.wav")
    write_annotations(sub / "rec one.TextGrid", AnnotationSet([Segment(1, 2, "x")], "DAS"))
    shutil.copy(icbhi_dir / "102_1b1_Ar_sc_Meditron.wav", sub / "unlabeled.wav")
    (tmp_path / ".hidden").mkdir()
    shutil.copy(icbhi_dir / "102_1b1_Ar_sc_Meditron.wav", tmp_path / ".hidden" / "h.wav")
    items = scan_labeled(tmp_path)
    assert [it.audio_path.name for it in items] == [f"{stem}.flac", "rec one.wav"]
    assert items[0].annotation_format == "clinaudio" and items[0].record_label == "CAS"
    assert items[1].annotation_format == "textgrid" and items[1].patient is None
    assert [it.audio_path.name for it in scan_labeled(tmp_path, include_unlabeled=True)][-1] == "unlabeled.wav"
    (sub / "rec one.TextGrid").write_text("File type = \"ooTextFile\"\nObject class = \"TextGrid\"\n\n0\n")
    with pytest.raises(AnnotationFormatError, match="rec one.TextGrid"):
        scan_labeled(tmp_path)
    assert len(scan_labeled(tmp_path, on_error="skip")) == 1
