"""`clinaudio detect` and `clinaudio evaluate --task events` with the bundled detector on real
recordings: the JSON contract, the events it finds, bad input, silence, other rates, stereo,
long files; evaluate equals sed_eval computed here on detect's own output."""
import json
import subprocess
import sys

import numpy as np
import pytest

from clinaudio_gui.io import read_sprsound
from clinaudio_gui.io.audio import read_audio, write_audio

pytestmark = pytest.mark.timeout(600)
CLI = [sys.executable, "-m", "clinaudio_gui.cli"]
KEYS = {"audio", "duration_s", "record_label", "record_probabilities", "quality", "events"}
RECORD = {"Normal", "CAS", "DAS", "CAS & DAS", "Poor Quality"}


def run(*args, check=True):
    p = subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=500)
    if check:
        assert p.returncode == 0, p.stderr[-2000:]
    return p


def lines(p):
    return [json.loads(x) for x in p.stdout.splitlines() if x.strip()]


@pytest.fixture(scope="module")
def example_results(examples_dir):
    return {r["audio"]: r for r in lines(run("detect", examples_dir, "--json", "--workers", 2))}


def test_json_contract(example_results):
    assert len(example_results) == 4    # 3 SPRSound + 1 ICBHI (44.1 kHz) example
    for r in example_results.values():
        assert KEYS <= set(r)
        assert r["record_label"] in RECORD
        assert set(r["record_probabilities"]) == RECORD
        assert abs(sum(r["record_probabilities"].values()) - 1) < 1e-3
        for e in r["events"]:
            assert 0 <= e["start_s"] < e["end_s"] <= r["duration_s"] + 1e-6
            assert e["label"] in {"Normal", "Rhonchi", "Wheeze", "Stridor", "Coarse Crackle", "Fine Crackle",
                                  "Wheeze+Crackle"}
            assert 0 < e["confidence"] <= 1


def _overlap(a, b):
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def test_finds_the_labelled_adventitious_events(example_results, examples_dir):
    """The examples' expert adventitious events (4 crackles, 3 wheezes; patient 40638274 is among
    the bundled model's training patients) are found by a detected
    adventitious event of the same family overlapping >= 20 % of them. The bar is the bundled
    model's present level (4 of 7; issue #13's target of event F >= 0.35 is not reached, see
    docs/models.md); an untrained or Normal-only model finds none."""
    fam = {"Fine Crackle": "DAS", "Coarse Crackle": "DAS", "Wheeze": "CAS", "Rhonchi": "CAS", "Stridor": "CAS",
           "Wheeze+Crackle": "both"}
    hit = total = 0
    for name in ("40638274_9.7_1_p2_1801", "40638274_9.7_1_p3_1765", "40638274_9.7_1_p4_1777"):
        ref = [s for s in read_sprsound(examples_dir / f"{name}.json").segments if s.label != "Normal"]
        det = [e for e in example_results[str(examples_dir / f"{name}.flac")]["events"] if e["label"] != "Normal"]
        for s in ref:
            total += 1
            if any(_overlap((s.start_s, s.end_s), (e["start_s"], e["end_s"])) > 0.2 * (s.end_s - s.start_s)
                   and fam[e["label"]] in (fam[s.label], "both") for e in det):
                hit += 1
    assert total == 7 and hit >= 4, f"found {hit} of {total} labelled adventitious events"


def test_bad_files_named_others_go_on(tmp_path, examples_dir):
    import shutil
    shutil.copy(examples_dir / "40638274_9.7_1_p3_1765.flac", tmp_path / "good.flac")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    import wave
    with wave.open(str(tmp_path / "empty.wav"), "wb") as w:   # a valid header, no samples
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"")
    write_audio(tmp_path / "tiny.wav", np.zeros(3, np.float32), 8000)
    p = run("detect", tmp_path, "--json", check=False)
    assert p.returncode == 2
    out = lines(p)
    assert [r["audio"].split("/")[-1] for r in out] == ["good.flac"]
    err = [x for x in p.stderr.splitlines() if "error" in x]
    for name in ("corrupt.wav", "empty.wav", "tiny.wav"):
        assert sum(name in x for x in err) == 1, p.stderr
    assert "Traceback" not in p.stderr


def test_silence_has_no_adventitious_label(tmp_path):
    write_audio(tmp_path / "silence.wav", np.zeros(8000 * 10, np.float32), 8000)
    rng = np.random.default_rng(0)
    write_audio(tmp_path / "hiss.wav", (1e-5 * rng.standard_normal(8000 * 10)).astype(np.float32), 8000)
    for r in lines(run("detect", tmp_path, "--json")):
        assert r["quality"] == "no signal"
        assert r["record_label"] == "Poor Quality"
        assert r["events"] == []
        # the gate's answer, not the uniform 0.20 of a record head that was never asked
        assert r["record_probabilities"]["Poor Quality"] == 1.0
        assert sum(r["record_probabilities"].values()) == 1.0
    text = run("detect", tmp_path / "silence.wav").stdout
    assert "quality gate: no signal; not classified" in text and "0.20" not in text, text


def _rumble(seconds=6.0, seed=0):
    """Band-limited (80-400 Hz) noise, steady or beating at 12 Hz like a rotor: passes the signal
    gate (all its power lies in the breath band) but holds no breathing cycle."""
    from scipy.signal import butter, lfilter
    rng = np.random.default_rng(seed)
    b, a = butter(4, [80, 400], btype="band", fs=8000)
    y = lfilter(b, a, rng.standard_normal(int(8000 * seconds)))
    y *= 1 + 0.5 * np.sin(2 * np.pi * 12 * np.arange(len(y)) / 8000) * (seed % 2)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def test_no_breathing_cycle_gets_no_label(tmp_path):
    """docs/rules/session20_breath_evidence.txt: the signal passes the gate, the decoder finds no
    event, not even a Normal cycle: no label, although the record head is sure of one."""
    from clinaudio_gui.dsp.quality import assess_quality
    from clinaudio_gui.engine.detector.infer import Detector
    det = Detector()
    for seed in (0, 1):
        y = _rumble(seed=seed)
        assert assess_quality(y, 8000).ok
        res = det.detect(y, 8000, with_sequence=True)
        head = det.record_classes[int(np.argmax(res["record_probabilities_exact"]))]
        assert head in ("CAS", "DAS", "CAS & DAS")     # what used to be shown (CAS 1.00)
        assert res["quality"] == "no breathing cycle found" and res["events"] == []
        assert res["record_label"] == "Poor Quality" and res["record_probabilities"]["Poor Quality"] == 1.0
        write_audio(tmp_path / f"rumble{seed}.wav", y, 8000)
    text = run("detect", tmp_path / "rumble0.wav").stdout
    assert "quality gate: no breathing cycle found; not classified" in text, text


def test_rumbling_non_lung_sounds_get_no_adventitious_label(esc10_dir):
    """ESC-10's helicopters pass the signal gate; before the rule the detector called 30 of the
    40 CAS or CAS & DAS, with no event in 28 of them."""
    from clinaudio_gui.engine.detector.infer import Detector
    det = Detector()
    files = sorted((esc10_dir / "007 - Helicopter").glob("*.ogg"))
    assert len(files) == 40
    labels = [det.detect_file(f)["record_label"] for f in files]
    adv = [f.name for f, lab in zip(files, labels) if lab in ("CAS", "DAS", "CAS & DAS")]
    assert len(adv) <= 3, adv


def test_other_rates_stereo_and_long_files(tmp_path, examples_dir):
    y, sr = read_audio(examples_dir / "40638274_9.7_1_p2_1801.flac")
    from clinaudio_gui.io.audio import resample
    y44 = resample(y, orig_sr=sr, target_sr=44100)
    write_audio(tmp_path / "stereo44k.wav", np.stack([y44, y44], axis=1), 44100)
    write_audio(tmp_path / "long.flac", np.tile(y, 40), sr)            # 6 min: blocks
    res = {r["audio"].split("/")[-1]: r for r in lines(run("detect", tmp_path, "--json"))}
    ref = lines(run("detect", examples_dir / "40638274_9.7_1_p2_1801.flac", "--json"))[0]
    st = res["stereo44k.wav"]
    assert st["record_label"] == ref["record_label"]
    assert abs(st["duration_s"] - ref["duration_s"]) < 0.01
    lg = res["long.flac"]
    assert abs(lg["duration_s"] - 40 * ref["duration_s"]) < 0.05
    assert lg["events"] and lg["events"][-1]["end_s"] > 35 * ref["duration_s"]


def test_evaluate_events_equals_sed_eval_on_detect_output(tmp_path, examples_dir):
    import shutil

    from clinaudio_gui.metrics.events import map_events
    for name in ("40638274_9.7_1_p2_1801", "40638274_9.7_1_p3_1765", "40638274_9.7_1_p4_1777"):
        for suf in (".flac", ".json"):
            shutil.copy(examples_dir / (name + suf), tmp_path / (name + suf))
    ev = json.loads(run("evaluate", "--task", "events", "--data", tmp_path, "--json").stdout)
    det = {r["audio"]: r for r in lines(run("detect", tmp_path, "--json"))}
    import sed_eval
    m = sed_eval.sound_event.EventBasedMetrics(event_label_list=["Crackle", "Rhonchi", "Stridor", "Wheeze"],
                                               t_collar=0.2, percentage_of_length=0.2)
    for audio, r in sorted(det.items()):
        ref = [(s.start_s, s.end_s, s.label) for s in read_sprsound(audio.replace(".flac", ".json")).segments]
        est = [(e["start_s"], e["end_s"], e["label"]) for e in r["events"]]
        rows = lambda evs: [{"filename": audio, "event_label": lab, "onset": s, "offset": e}  # noqa: E731
                            for s, e, lab in map_events(evs)]
        m.evaluate(rows(ref), rows(est))
    direct = m.results_overall_metrics()
    assert ev["event_based"]["micro"]["f"] == pytest.approx(direct["f_measure"]["f_measure"] or 0.0, abs=1e-6)
    assert ev["event_based"]["micro"]["error_rate"] == pytest.approx(direct["error_rate"]["error_rate"], abs=1e-6)
    assert "segment_based" in ev and ev["n_recordings"] == 3
