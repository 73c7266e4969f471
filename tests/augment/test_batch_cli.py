"""`clinaudio augment`: reproducible batch export with labels and a manifest, on real files."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from clinaudio_gui.cli import main
from clinaudio_gui.io import read_annotations, read_audio, read_sprsound


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _tree_bytes(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def in_dir(tmp_path, labeled_flacs):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    for i, f in enumerate(labeled_flacs):
        target = d / "sub" if i == 2 else d
        shutil.copy(f, target / f.name)
        shutil.copy(f.with_suffix(".json"), target / f.with_suffix(".json").name)
    (d / "zz_corrupt.flac").write_bytes(b"fLaC" + b"\x00" * 200)   # a FLAC header and nothing else
    return d


def test_same_seed_is_byte_identical_other_seed_differs_corrupt_skipped(in_dir, tmp_path, capsys):
    before = _snapshot(in_dir)
    outs = {}
    for name, seed, workers in (("a", 5, 1), ("b", 5, 2), ("c", 6, 1)):
        rc = main(["augment", "--recipe", "naa", "--in", str(in_dir), "--out", str(tmp_path / name),
                   "--per-file", "6", "--seed", str(seed), "--workers", str(workers)])
        err = capsys.readouterr().err
        assert rc == 1                                        # one input was unreadable
        assert "skipped zz_corrupt.flac" in err and "zz_corrupt.flac" in err
        outs[name] = _tree_bytes(tmp_path / name)
    assert _snapshot(in_dir) == before                        # nothing in DIR modified
    a, b, c = outs["a"], outs["b"], outs["c"]
    assert a == b                                             # same seed, 1 vs 2 workers: byte-identical
    audio = [k for k in a if k.endswith(".flac")]
    assert len(audio) == 3 * 6 and "sub/" in " ".join(audio)
    assert set(a) == set(c)
    # another seed: other audio wherever something is drawn (time shift, pitch up, pitch down);
    # stretch 0.7 / 1.2 and trim have nothing to draw and must come out the same
    assert sum(a[k] != c[k] for k in audio) == 9
    manifest = [json.loads(line) for line in a["manifest.jsonl"].decode().splitlines()]
    assert len(manifest) == 18
    assert {m["source"] for m in manifest} == {p for p in _snapshot(in_dir) if p.endswith(".flac")} - {
        "zz_corrupt.flac"}
    for m in manifest:
        assert m["seed"] == 5 and m["software"].startswith("clinaudio_gui ") and m["recipe"] == "naa"
        assert m["output"] in a and m["annotations"] in a
    # one copy per technique (naa cycles)
    names = sorted(m["applied"][0] for m in manifest if m["source"] == manifest[0]["source"])
    assert names == sorted(["TimeShift", "PitchShift", "PitchShift", "TimeStretch", "TimeStretch", "TrimSilence"])


def test_labels_travel_into_the_written_annotations(in_dir, tmp_path, capsys):
    out = tmp_path / "o"
    main(["augment", "--recipe", "naa", "--in", str(in_dir), "--out", str(out), "--per-file", "6", "--seed", "1"])
    capsys.readouterr()
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    checked = 0
    for m in manifest:
        src = read_sprsound((in_dir / m["source"]).with_suffix(".json"))
        dst = read_sprsound(out / m["annotations"])
        y, sr = read_audio(out / m["output"])
        assert abs(len(y) / sr - m["duration_s"]) < 1e-9
        assert dst.record_label == src.record_label
        p = m["params"]["params"]
        if m["applied"] == ["TimeStretch"]:
            assert len(dst.segments) == len(src.segments)
            for s, d in zip(src.sorted_segments(), dst.sorted_segments()):
                assert d.start_s == pytest.approx(s.start_s / p["rate"], abs=1e-3)   # SPRSound stores ms
                assert d.end_s == pytest.approx(min(s.end_s / p["rate"], len(y) / sr), abs=1e-3)
            checked += 1
        if m["applied"] == ["TimeShift"]:
            moved = [(s.start_s + p["shift_s"], s.end_s + p["shift_s"]) for s in src.sorted_segments()]
            kept = [(max(0, a), min(len(y) / sr, b)) for a, b in moved if b > 0 and a < len(y) / sr]
            got = [(d.start_s, d.end_s) for d in dst.sorted_segments()]
            assert len(got) == len([k for k in kept if k[1] - k[0] >= 0.01])
            checked += 1
    assert checked >= 6


def test_ogg_input_is_written_as_reproducible_flac(esc10_dir, tmp_path, capsys):
    d = tmp_path / "esc"
    d.mkdir()
    for f in sorted((esc10_dir / "001 - Dog bark").glob("*.ogg"))[:2]:
        shutil.copy(f, d / f.name)
    for name in ("x", "y"):
        assert main(["augment", "--recipe", "naa", "--in", str(d), "--out", str(tmp_path / name),
                     "--per-file", "2", "--seed", "3", "--labels-from", "none"]) == 0
    capsys.readouterr()
    x, y = _tree_bytes(tmp_path / "x"), _tree_bytes(tmp_path / "y")
    assert x == y and sum(k.endswith(".flac") for k in x) == 4 and not any(k.endswith(".ogg") for k in x)


def test_icbhi_labels_are_written_back_as_icbhi(icbhi_dir, tmp_path, capsys):
    d = tmp_path / "icbhi"
    d.mkdir()
    stem = "101_1b1_Al_sc_Meditron"
    for suf in (".wav", ".txt"):
        shutil.copy(icbhi_dir / (stem + suf), d / (stem + suf))
    recipe = tmp_path / "stretch.json"
    recipe.write_text(json.dumps({"format": "clinaudio.augment.recipe", "version": 1, "name": "fast",
                                  "pipeline": {"name": "TimeStretch", "min_rate": 1.25, "max_rate": 1.25}}))
    assert main(["augment", "--recipe", str(recipe), "--in", str(d), "--out", str(tmp_path / "o"),
                 "--labels-from", "icbhi"]) == 0
    capsys.readouterr()
    src = read_annotations(d / (stem + ".txt"), "icbhi")
    out = read_annotations(tmp_path / "o" / (stem + "__aug00.txt"), "icbhi")
    assert len(out.segments) == len(src.segments) > 0
    for s, o in zip(src.sorted_segments(), out.sorted_segments()):
        assert o.start_s == pytest.approx(s.start_s / 1.25, abs=1e-3) and o.label == s.label


def test_spectrogram_recipe_writes_npy_images(labeled_flacs, tmp_path, capsys):
    d = tmp_path / "in"
    d.mkdir()
    for f in labeled_flacs[:2]:
        shutil.copy(f, d / f.name)
    np.save(d / "image.npy", np.random.default_rng(0).normal(size=(32, 50)).astype(np.float32))
    for name in ("a", "b"):
        assert main(["augment", "--recipe", "taa", "--in", str(d), "--out", str(tmp_path / name),
                     "--per-file", "2", "--seed", "9"]) == 0
    capsys.readouterr()
    a, b = _tree_bytes(tmp_path / "a"), _tree_bytes(tmp_path / "b")
    assert a == b
    imgs = sorted(k for k in a if k.endswith(".npy"))
    assert len(imgs) == 6
    img = np.load(tmp_path / "a" / imgs[0])
    assert img.dtype == np.float32 and img.ndim == 2 and img.shape[0] == 64
    assert np.load(tmp_path / "a" / "image__aug00.npy").shape == (32, 50)
    m = json.loads((tmp_path / "a" / "manifest.jsonl").read_text().splitlines()[0])
    assert m["features"]["n_mels"] == 64 and m["params"]["children"][0]["name"] == "SpecAffine"


def test_mix_same_class_picks_a_partner_of_the_same_record_label(sprsound_dir, tmp_path, capsys):
    d = tmp_path / "in"
    d.mkdir()
    picked = {}
    for j in sorted(sprsound_dir.glob("*.json"))[:40]:
        lab = json.loads(j.read_text())["record_annotation"]
        if len(picked.setdefault(lab, [])) < 2:
            picked[lab].append(j)
    for js in picked.values():
        for j in js:
            shutil.copy(j, d / j.name)
            shutil.copy(j.with_suffix(".flac"), d / j.with_suffix(".flac").name)
    recipe = tmp_path / "mix.json"
    recipe.write_text(json.dumps({"format": "clinaudio.augment.recipe", "version": 1, "name": "mix",
                                  "pipeline": {"name": "MixSameClass", "min_weight": 0.3, "max_weight": 0.3}}))
    assert main(["augment", "--recipe", str(recipe), "--in", str(d), "--out", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    for line in (tmp_path / "o" / "manifest.jsonl").read_text().splitlines():
        m = json.loads(line)
        own = read_sprsound((d / m["source"]).with_suffix(".json")).record_label
        partner = m["params"]["partner_path"]
        if partner is None:
            assert len(picked[own]) == 1
            continue
        assert Path(partner).name != m["source"]
        assert read_sprsound(Path(partner).with_suffix(".json")).record_label == own


def test_list_and_argument_errors(tmp_path, capsys, in_dir):
    assert main(["augment", "--list"]) == 0
    out = capsys.readouterr().out
    for s in ("min_semitones [semitones]", "max_shift_s [s]", "min_snr_db [dB]", "SpecAffine", "TimeMask",
              "naa (audio)", "taa (spectrogram)"):
        assert s in out
    assert main(["augment", "--in", str(in_dir), "--out", str(tmp_path / "o")]) == 2
    assert "--recipe" in capsys.readouterr().err
    assert main(["augment", "--recipe", "naa", "--in", str(in_dir), "--out", str(in_dir / "inside")]) == 2
    assert "must not be inside" in capsys.readouterr().err
    assert not (in_dir / "inside").exists()
    assert main(["augment", "--recipe", "naa", "--in", str(in_dir), "--out", str(tmp_path / "o"),
                 "--per-file", "0"]) == 2
    assert "per_file=0" in capsys.readouterr().err


def test_named_label_format_prefers_that_format_and_reports_a_broken_one(icbhi_dir, tmp_path, capsys):
    from clinaudio_gui.io import write_annotations
    d = tmp_path / "in"
    d.mkdir()
    stems = ["101_1b1_Al_sc_Meditron", "101_1b1_Pr_sc_Meditron"]
    for stem in stems:
        for suf in (".wav", ".txt"):
            shutil.copy(icbhi_dir / (stem + suf), d / (stem + suf))
    # a native sidecar next to the first one (found first by 'auto'); --labels-from icbhi must
    # still read the ICBHI .txt
    a = read_annotations(d / (stems[0] + ".txt"), "icbhi")
    write_annotations(d / (stems[0] + ".clinaudio.json"), a, "clinaudio")
    (d / (stems[1] + ".txt")).write_text("this is not an ICBHI cycle file\n")
    recipe = tmp_path / "gain.json"
    recipe.write_text(json.dumps({"format": "clinaudio.augment.recipe", "version": 1, "name": "gain",
                                  "pipeline": {"name": "Gain", "min_gain_db": -1.0, "max_gain_db": -1.0}}))
    rc = main(["augment", "--recipe", str(recipe), "--in", str(d), "--out", str(tmp_path / "o"),
               "--labels-from", "icbhi"])
    err = capsys.readouterr().err
    assert rc == 1 and f"skipped {stems[1]}.wav" in err and f"{stems[1]}.txt" in err
    out = read_annotations(tmp_path / "o" / (stems[0] + "__aug00.txt"), "icbhi")
    assert len(out.segments) == len(a.segments)
