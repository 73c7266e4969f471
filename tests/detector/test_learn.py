"""The model in the loop (issue #19), on real SPRSound recordings with the bundled detector:
queue strategies, fine-tuning rounds that never put a worse model in use, versions and rollback,
team labels (consensus / majority, never under blind labeling) and the simulated study."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from clinaudio_gui.core import Project
from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.segment import Segment
from clinaudio_gui.engine.detector.active import analyse_recordings, rank_queue, uncertainty_score
from clinaudio_gui.engine.detector.finetune import (_majority, collect_folder_labels, collect_team_labels,
                                                    finetune_round)
from clinaudio_gui.engine.detector.infer import bundled_detector_dir, load_detector
from clinaudio_gui.engine.detector.versions import ModelVersions
from clinaudio_gui.io.audio import write_audio

pytestmark = pytest.mark.timeout(900)
SPR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sprsound" / "train"
CLI = [sys.executable, "-m", "clinaudio_gui.cli"]


def _unseen_by_patient() -> tuple[dict[str, list[Path]], set[str]]:
    """Recordings of patients the bundled detector was never trained on (its fold's test
    patients), and which of them have adventitious events."""
    if not SPR.is_dir():
        pytest.skip(f"SPRSound data not found at {SPR}")
    m = json.loads((bundled_detector_dir() / "manifest.json").read_text())
    unseen = set(m["split"]["test_patients"])
    by_patient: dict[str, list[Path]] = {}
    adv: set[str] = set()
    for js in sorted(SPR.glob("*.json")):
        p = js.name.split("_")[0]
        if p not in unseen:
            continue
        by_patient.setdefault(p, []).append(js.with_suffix(".flac"))
        if any(e["type"] != "Normal" for e in json.loads(js.read_text()).get("event_annotation", [])):
            adv.add(p)
    return by_patient, adv


def _unseen_files(n_patients: int, per_patient: int = 3) -> list[Path]:
    by_patient, adv = _unseen_by_patient()
    pats = sorted(by_patient, key=lambda p: (p not in adv, p))
    return [f for p in pats[:n_patients] for f in by_patient[p][:per_patient]]


def _project_files() -> list[Path]:
    """Four patients that fine-tuning trains on, and the patient (of those a round holds back)
    on which the bundled detector scores best, so that a wrecked model is clearly worse there."""
    from clinaudio_gui.engine.detector.finetune import LabeledItem, _recordings, is_holdout, judge, load_net
    from clinaudio_gui.engine.common.data import normalize_record_label
    from clinaudio_gui.io import read_sprsound
    by_patient, adv = _unseen_by_patient()
    train = [p for p in sorted(by_patient, key=lambda p: (p not in adv, p)) if not is_holdout(p, 0.3)][:4]
    net, m = load_net(bundled_detector_dir())
    best, best_c = None, -1.0
    for p in sorted(p for p in by_patient if is_holdout(p, 0.3)):
        fs = by_patient[p][:3]
        items = []
        for f in fs:
            a = read_sprsound(f.with_suffix(".json"))
            items.append(LabeledItem(str(f), p, [(s.start_s, s.end_s, s.label) for s in a.sorted_segments()],
                                     normalize_record_label(a.record_label, f)))
        recs = _recordings(items, None)
        c = judge(net, m, recs, np.arange(len(recs)))["criterion"]
        if c > best_c:
            best, best_c = p, c
    return [f for p in train + [best] for f in by_patient[p][:3]]


def _copy(files, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, dest / f.name)
        shutil.copy(f.with_suffix(".json"), dest / (f.stem + ".json"))
    return dest


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return _copy(_project_files(), tmp_path_factory.mktemp("learn") / "project")


@pytest.fixture(scope="module")
def detector():
    return load_detector()


# ---- queue strategies ------------------------------------------------------------------
def test_uncertainty_queue_follows_the_model(project, detector, tmp_path):
    files = sorted(str(p) for p in project.glob("*.flac"))[:6]
    silent = tmp_path / "silent.wav"
    write_audio(silent, np.zeros(8000 * 5, np.float32), 8000)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really a wave file")
    res = analyse_recordings(detector, files + [str(silent), str(broken)])
    assert set(res) == set(files) | {str(silent), str(broken)}
    assert "error" in res[str(broken)] and res[str(silent)]["quality"] != "ok"
    q = rank_queue(res, "uncertainty", labeled=[files[0]])
    order = [it.audio for it in q]
    assert files[0] not in order and len(order) == 7
    ok = [it for it in q if it.audio in files]
    # the order is the model's uncertainty, most unsure first; no-signal and unreadable files last
    assert [it.score for it in ok] == sorted((uncertainty_score(res[it.audio])[0] for it in ok), reverse=True)
    assert order[-2:] == [str(silent), str(broken)]
    assert q[-1].reason.startswith("unreadable") and "signal quality" in q[-2].reason
    assert ok[0].reason.startswith(("model unsure:", "unsure event:"))
    # a recording whose two most likely record classes are close ranks above a confident one
    a = {"record_probabilities": {"Normal": 0.5, "CAS": 0.45, "DAS": 0.05}, "events": [], "quality": "ok",
         "frame_uncertainty": 0.3}
    b = {**a, "record_probabilities": {"Normal": 0.95, "CAS": 0.03, "DAS": 0.02}}
    assert [it.audio for it in rank_queue({"b": b, "a": a}, "uncertainty")] == ["a", "b"]
    assert rank_queue({"a": a}, "uncertainty")[0].reason.startswith("model unsure: Normal 0.50 / CAS 0.45")


def test_diversity_spreads_over_embeddings_and_random_is_seeded():
    rng = np.random.default_rng(0)
    centres = {"A": [1, 0, 0], "B": [0, 1, 0], "C": [0, 0, 1]}
    res = {}
    for c, v in centres.items():
        for i in range(4):
            res[f"{c}{i}"] = {"record_probabilities": {"Normal": 1.0}, "events": [], "quality": "ok",
                              "embedding": (np.array(v) + 0.05 * rng.standard_normal(3)).tolist()}
    labeled = ["A0", "A1", "A2", "A3"]
    q = rank_queue(res, "diversity", labeled=labeled)
    assert {it.audio[0] for it in q[:2]} == {"B", "C"}     # one of each unseen cluster before any repeat
    assert all(it.audio[0] != "A" for it in q)
    assert q[0].score >= q[1].score >= q[2].score
    r1 = [it.audio for it in rank_queue(res, "random", seed=3)]
    assert r1 == [it.audio for it in rank_queue(res, "random", seed=3)]
    assert r1 != [it.audio for it in rank_queue(res, "random", seed=4)]
    with pytest.raises(ValueError, match="unknown queue strategy"):
        rank_queue(res, "loudest")


# ---- fine-tuning, versions, rollback ------------------------------------------------------
def test_worse_finetune_is_kept_aside_and_versions_roll_back(project, tmp_path):
    items = collect_folder_labels(project)
    assert len(items) == len(list(project.glob("*.flac"))) and len({it.patient for it in items}) >= 3
    mv = ModelVersions(tmp_path / "models")
    assert mv.current() == "bundled" and mv.current_dir() == bundled_detector_dir()
    # a learning rate that wrecks the network: the round must not put it in use
    bad = finetune_round(mv, items, epochs=2, lr=0.5, seed=0, mode="weights")
    assert bad["candidate"]["criterion"] < bad["current"]["criterion"]
    assert bad["accepted"] is False and "kept aside" in bad["decision"]
    assert mv.current() == "bundled"
    v = mv.list()[0]
    assert v["version"] == bad["version"] and v["status"] == "kept aside"
    assert v["scores"]["candidate"] == bad["candidate"] and v["n_labels"] == bad["n_train"]
    held = set(v["holdout_patients"])
    assert held and not held & {Path(p).name.split("_")[0] for p in v["labels"]}
    # the kept-aside package is complete, and a user may still choose it explicitly
    mv.rollback(bad["version"])
    det = load_detector(mv.current_dir())
    assert det.version.startswith(f"detector-sprsound+ft-{bad['version']}@")
    assert det.manifest["fine_tuned"]["parent"] == "bundled"
    # from that wrecked model, a round (decoder chosen again; the weights stay) is judged against it
    good = finetune_round(mv, items, seed=0)
    assert good["current_version"] == bad["version"]
    from clinaudio_gui.engine.common.package import load_model_package
    t_bad, _ = load_model_package(mv.dir_of(bad["version"]), kind="detector")
    t_new, m_new = load_model_package(mv.dir_of(good["version"]), kind="detector")
    assert all(np.array_equal(t_bad[k].numpy(), t_new[k].numpy()) for k in t_bad)    # same network
    assert m_new["fine_tuned"]["training"]["mode"] == "decoder"
    assert m_new["decoder"] == m_new["fine_tuned"]["training"]["decoder"]
    assert good["accepted"] is (good["candidate"]["criterion"] > good["current"]["criterion"])
    if good["accepted"]:
        assert mv.current() == good["version"] and mv.list()[0]["status"] == "in use"
    mv.rollback("bundled")
    assert mv.current_dir() == bundled_detector_dir()
    assert {v["status"] for v in mv.list()} <= {"previous", "kept aside"}
    with pytest.raises(Exception, match="no model version 'v9999'"):
        mv.rollback("v9999")


def test_folder_labels_are_the_finished_ones(project, tmp_path):
    proj = _copy(sorted(project.glob("*.flac"))[:3], tmp_path / "p")
    flacs = sorted(proj.glob("*.flac"))
    (proj / (flacs[0].stem + ".json")).unlink()        # no labels at all
    p = Project(proj)
    a = AnnotationSet([Segment(0.5, 1.5, "Wheeze")], record_label="CAS", metadata={"status": "in progress"})
    p.save(flacs[1], a)                                 # a sidecar still in progress: not used
    items = {Path(it.audio).name: it for it in collect_folder_labels(proj)}
    assert set(items) == {flacs[2].name}
    p.save(flacs[1], AnnotationSet([Segment(0.5, 1.5, "Wheeze")], record_label="CAS",
                                   metadata={"status": "done"}))
    items = {Path(it.audio).name: it for it in collect_folder_labels(proj)}
    assert items[flacs[1].name].events == [(0.5, 1.5, "Wheeze")] and items[flacs[1].name].record_label == "CAS"


def test_team_labels_consensus_majority_and_blind(tmp_path, project):
    from clinaudio_gui.store import ProjectStore
    from clinaudio_gui.store.media import scan_audio
    media = _copy(sorted(project.glob("*.flac"))[:3], tmp_path / "media")
    st = ProjectStore.init(f"sqlite:///{tmp_path / 'p.db'}", actor="lead")
    for who in ("alice", "bob", "carol"):
        st.add_person(who, "annotator")
    st.add_person("rita", "reviewer")
    st.register_recordings(scan_audio(media, media))
    recs = sorted(st.recordings(), key=lambda r: r.name)
    st.add_assignments([(r.id, w) for r in recs for w in ("alice", "bob", "carol")])

    def save(rec, who, segs, rl, status):
        s = ProjectStore(st.url, actor=who)
        s.save(rec.id, who, AnnotationSet([Segment(a, b, lab) for a, b, lab in segs], record_label=rl),
               0, status=status)

    # rec 0: all three done -> frame-wise majority (Wheeze 1-2 s by two of three; Crackle by one only)
    save(recs[0], "alice", [(1.0, 2.0, "Wheeze")], "CAS", "done")
    save(recs[0], "bob", [(1.0, 2.0, "Wheeze")], "CAS", "done")
    save(recs[0], "carol", [(3.0, 4.0, "Fine Crackle")], "DAS", "done")
    # rec 1: carol still labeling -> under blind labeling, never trained on
    save(recs[1], "alice", [(1.0, 2.0, "Rhonchi")], "CAS", "done")
    save(recs[1], "bob", [(1.0, 2.0, "Rhonchi")], "CAS", "done")
    save(recs[1], "carol", [], None, "in progress")
    # rec 2: annotators disagree, the reviewers' consensus decides
    for who, lab in (("alice", "Wheeze"), ("bob", "Stridor"), ("carol", "Rhonchi")):
        save(recs[2], who, [(0.5, 1.0, lab)], "CAS", "done")
    rita = ProjectStore(st.url, actor="rita")
    rita.save(recs[2].id, "consensus", AnnotationSet([Segment(0.5, 1.0, "Stridor")], record_label="CAS"), 0,
              status="done")
    items = {Path(it.audio).name: it for it in collect_team_labels(rita, media)}
    assert set(items) == {recs[0].rel_path, recs[2].rel_path}
    (s0, e0, l0), = items[recs[0].rel_path].events
    assert l0 == "Wheeze" and abs(s0 - 1.0) < 0.02 and abs(e0 - 2.0) < 0.02
    assert items[recs[0].rel_path].record_label == "CAS"
    assert items[recs[2].rel_path].events == [(0.5, 1.0, "Stridor")]


def test_majority_needs_more_than_half():
    sets = [AnnotationSet([Segment(0.0, 1.0, "Wheeze")]), AnnotationSet([Segment(0.0, 1.0, "Rhonchi")])]
    events, _ = _majority(sets, 2.0, 0.016)
    assert events == []                       # one vote each: no majority, no event


# ---- CLI ---------------------------------------------------------------------------------
def run(*args, check=True):
    p = subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=800)
    if check:
        assert p.returncode == 0, p.stderr[-2000:]
    return p


def test_cli_simulate_reproduces_its_curve(tmp_path):
    data = _copy(_unseen_files(4, per_patient=3), tmp_path / "data")
    args = ("learn", "simulate", "--data", data, "--strategy", "uncertainty", "--budget", 4, "--step", 2,
            "--epochs", 1, "--seed", 5, "--cache", tmp_path / "cache", "--threads", 1, "--json")
    a, b = (json.loads(run(*args).stdout) for _ in range(2))
    strip = [[{k: p[k] for k in ("labels", "event_f", "score")} for p in r["curve"]] for r in (a, b)]
    assert strip[0] == strip[1]
    assert [p["labels"] for p in a["curve"]] == [0, 2, 4]
    assert a["test_recordings"] > 0 and a["pool_recordings"] > 0
    c = json.loads(run(*args[:-3], "--seed", 6, "--threads", 1, "--json").stdout)
    assert c["curve"][0] == a["curve"][0]      # round 0 is the bundled model on the same test patients


def test_cli_queue_finetune_versions(project, tmp_path):
    proj = _copy(sorted(project.glob("*.flac")), tmp_path / "proj")
    for js in sorted(proj.glob("*.json"))[:4]:
        js.unlink()                                         # four recordings still to label
    p = run("learn", "queue", proj, "--json")
    rows = [json.loads(x) for x in p.stdout.splitlines()]
    assert len(rows) == 4 and [r["rank"] for r in rows] == [1, 2, 3, 4]
    assert all(r["reason"] and r["model"].startswith("detector-sprsound@") for r in rows)
    p = run("learn", "finetune", proj, "--epochs", 1, "--progress-json")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    prog = [json.loads(x) for x in p.stderr.splitlines() if x.startswith("{")]
    assert prog[-1]["progress"] == 1.0 and res["version"] == "v0001"
    assert res["accepted"] is (res["candidate"]["criterion"] > res["current"]["criterion"])
    v = json.loads(run("learn", "versions", proj, "--json").stdout)
    assert v["versions"][0]["version"] == "v0001"
    run("learn", "rollback", proj, "v0001")
    assert json.loads(run("learn", "versions", proj, "--json").stdout)["current"] == "v0001"
    bad = run("learn", "rollback", proj, "v0042", check=False)
    assert bad.returncode == 2 and "v0042" in bad.stderr


def test_long_recordings_are_read_and_scored_in_blocks(project, tmp_path):
    """A 50 s recording (longer than one 16.4 s block): features block by block, the right number
    of frames; block-wise prediction equals the whole-recording prediction on a short one."""
    import soundfile as sf

    from clinaudio_gui.engine.detector.finetune import (BLOCK_FRAMES, LabeledItem, _recordings, load_net,
                                                        predict_blocks)
    from clinaudio_gui.engine.detector.train import predict
    f = sorted(project.glob("*.flac"))[0]
    y, sr = sf.read(f, dtype="float32")
    reps = int(np.ceil(50 * sr / len(y)))
    long = tmp_path / "long.wav"
    sf.write(long, np.tile(y, reps)[:50 * sr], sr)
    recs = _recordings([LabeledItem(str(long), "p1", [(1.0, 2.0, "Wheeze")], "CAS"),
                        LabeledItem(str(f), "p2", [], "Normal")], tmp_path / "cache")
    assert abs(recs[0].features.shape[-1] - 50 / 0.016) <= 3 and recs[0].features.shape[-1] > 3 * BLOCK_FRAMES
    assert np.isfinite(recs[0].features.astype(np.float32)).all()
    net, _ = load_net(bundled_detector_dir())
    (fl, rl), (fs, rs) = predict_blocks(net, recs, [0, 1])
    assert fl.shape == (recs[0].features.shape[-1], 8) and np.abs(fl).sum(axis=1).min() > 0   # no frame left empty
    (ws, wr), = predict(net, recs, [1])
    assert np.allclose(fs, ws, atol=1e-4) and np.allclose(rs, wr, atol=1e-4)
    # cached: the second read is the same array
    again = _recordings([LabeledItem(str(long), "p1", [], "CAS")], tmp_path / "cache")
    assert np.array_equal(again[0].features, recs[0].features)


def test_queue_says_why_a_recording_has_no_model_label():
    """A recording the model gives no label (the signal gate, or no breathing cycle found) goes
    after every ranked one, with its reason in words."""
    probs = {"Normal": 0.5, "CAS": 0.4, "DAS": 0.05, "CAS & DAS": 0.03, "Poor Quality": 0.02}
    res = {"a.wav": {"quality": "ok", "record_probabilities": probs, "events": []},
           "b.wav": {"quality": "no breathing cycle found", "record_probabilities": {"Poor Quality": 1.0}, "events": []},
           "c.wav": {"quality": "no signal", "record_probabilities": {"Poor Quality": 1.0}, "events": []}}
    q = rank_queue(res, "uncertainty")
    assert [it.audio for it in q] == ["a.wav", "b.wav", "c.wav"]
    assert q[0].reason.startswith("model unsure") and q[0].score > 0
    assert q[1].reason == "no breathing cycle found (no model label)" and q[1].score == 0
    assert q[2].reason == "signal quality: no signal"
