"""Patient context from SPRSound / ICBHI file names, registered patterns and sidecar CSVs (io.metadata)."""
from __future__ import annotations

import pytest

from clinaudio_gui.core.errors import AnnotationFormatError
from clinaudio_gui.io import metadata as md


def test_sprsound_name(sprsound_dir):
    f = sprsound_dir / "40638274_9.7_1_p2_1801.flac"
    assert f.exists()
    info = md.parse_name(f)
    assert (info.patient, info.age_years, info.sex, info.location, info.location_name) == (
        "40638274", 9.7, "female", "p2", "left lateral")
    assert info.extra["number"] == "1801"
    assert md.parse_name("40069321_15.3_0_p1_981").sex == "male"


def test_icbhi_name(icbhi_dir):
    info = md.MetadataIndex().lookup(icbhi_dir / "104_1b1_Al_sc_Litt3200.wav")
    assert (info.patient, info.location, info.location_name) == ("104", "Al", "left anterior")
    assert info.extra == {"index": "1b1", "mode": "sc", "device": "Litt3200"}
    assert info.age_years is None and info.sex is None      # not in ICBHI names
    assert md.parse_name("101_1b1_Tc_mc_AKGC417L.wav").location_name == "trachea"


def test_icbhi_demographics_fill_age_and_sex(tmp_path):
    (tmp_path / "demographic_info.txt").write_text("101 3.00 F NA 19.00 99.00\n104 70 M 28.47 NA NA\n")
    info = md.MetadataIndex().lookup(tmp_path / "104_1b1_Al_sc_Litt3200.wav")
    assert (info.patient, info.age_years, info.sex) == ("104", 70.0, "male")


def test_unknown_name_gives_empty_info(tmp_path):
    info = md.MetadataIndex().lookup(tmp_path / "dog_bark.wav")
    assert info.patient is None and info.location_name is None


def test_sidecar_csv_for_other_datasets(tmp_path):
    (tmp_path / "clinaudio_metadata.csv").write_text(
        "file,patient,age,sex,location,ward\nrec_a.wav,P7,64,F,Pl,ICU\nrec_b,P8,,m,left base,\n")
    idx = md.MetadataIndex()
    a = idx.lookup(tmp_path / "rec_a.wav")
    assert (a.patient, a.age_years, a.sex, a.location_name, a.extra) == ("P7", 64.0, "female", "left posterior",
                                                                       {"ward": "ICU"})
    b = idx.lookup(tmp_path / "rec_b.flac")
    assert (b.patient, b.age_years, b.sex, b.location_name) == ("P8", None, "male", "left base")


def test_sidecar_csv_wins_over_name(tmp_path):
    (tmp_path / "metadata.csv").write_text("recording,age\n40638274_9.7_1_p2_1801.flac,10.1\n")
    info = md.MetadataIndex().lookup(tmp_path / "40638274_9.7_1_p2_1801.flac")
    assert (info.patient, info.age_years, info.location) == ("40638274", 10.1, "p2")


def test_malformed_csv_names_file_and_line(tmp_path):
    p = tmp_path / "clinaudio_metadata.csv"
    p.write_text("file,age\nx.wav,old\n")
    with pytest.raises(AnnotationFormatError) as e:
        md.read_metadata_csv(p)
    assert str(p) in str(e.value) and ":2" in str(e.value) and "age" in str(e.value)
    p.write_text("patient,age\nP1,3\n")
    with pytest.raises(AnnotationFormatError, match="no column naming the recording"):
        md.read_metadata_csv(p)
    idx = md.MetadataIndex()            # the index reports, never raises, and goes on
    assert idx.lookup(tmp_path / "x.wav").patient is None
    assert idx.problems and str(p) in idx.problems[0]


def test_register_name_pattern():
    pat = md.NamePattern("ward7", r"^(?P<patient>W\d+)-(?P<location>[A-Z]{3})-(?P<age>\d+)y$",
                         locations={"LUL": "left upper lobe"})
    try:
        md.register_name_pattern(pat)
        info = md.parse_name("W12-LUL-58y.wav")
        assert (info.patient, info.location_name, info.age_years, info.source) == (
            "W12", "left upper lobe", 58.0, "ward7 name")
        with pytest.raises(Exception):
            md.register_name_pattern(md.NamePattern("bad", r"(?P<patient"))
    finally:
        md._PATTERNS[:] = [p for p in md._PATTERNS if p.name != "ward7"]
    assert md.parse_name("W12-LUL-58y.wav") is None
