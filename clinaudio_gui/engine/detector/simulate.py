"""The simulated labeling study behind ``clinaudio learn simulate``.

A folder of SPRSound-labelled recordings plays the annotator. Its patients are split once (split
seed 0, the same for every strategy and seed, so curves are comparable) into a held-back test
half and a pool. If the starting detector's manifest names the patients it was tested on (the
bundled detector is one fold of a patient-wise k-fold run), only those patients are used: the
detector never saw them, so the study measures what new labels teach it.

Round 0 scores the starting detector on the test patients. Each round then ranks the pool's
unlabeled recordings with the current model (strategy: ``active.rank_queue``), reveals the
labels of the next ``step`` recordings, adapts the *starting* detector to every label revealed so
far (``finetune.adapt``: ``decoder`` chooses the decoder again on them; ``weights`` fine-tunes
the network first, fixed epochs; temperatures and Score offsets inherited: nothing is selected
on the test patients) and scores it on the test patients: event micro F (sed_eval protocol of
``clinaudio evaluate --task events``) and the SPRSound 2-2 Score. The signal-quality gate is not
applied in the study (every SPRSound recording is scored, Poor Quality ones included), so the
uncertainty strategy does not put the pool's poor recordings last.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from clinaudio_gui.core.errors import ClinAudioError
from clinaudio_gui.engine.common.data import EVENT_LABELS
from clinaudio_gui.engine.detector import data as D
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.active import STRATEGIES, frame_uncertainty, rank_queue
from clinaudio_gui.engine.detector.decode import DecoderParams, decode
from clinaudio_gui.engine.detector.edges import edge_probs
from clinaudio_gui.engine.detector.finetune import adapt, judge, load_net
from clinaudio_gui.engine.detector.infer import bundled_detector_dir
from clinaudio_gui.engine.detector.proposal_fit import decoder_params

SPLIT_SEED = 0


@torch.inference_mode()
def _outputs(net, manifest, recs, idx) -> dict[str, dict]:
    """Result dicts (as the detector gives them) of pool recordings, from cached features."""
    calib = manifest.get("calibration") or {}
    t_f, t_r = float(calib.get("t_frame", 1.0)), float(calib.get("t_record", 1.0))
    params = decoder_params(net, manifest.get("decoder", {}))
    hop_s = D.detector_settings().hop_s
    out = {}
    for i in idx:
        r = recs[i]
        x = torch.from_numpy(r.features.astype(np.float32))[None]
        edges_used = params.needs_edges
        f, rl, _, emb, *h = net(x, return_seq=edges_used)
        fp = S.softmax(f[0].numpy().astype(np.float64) / t_f)
        rp = S.softmax(rl[0].numpy().astype(np.float64) / t_r)
        e = edge_probs(net, h[0][0].numpy(), fp) if edges_used else None
        out[r.audio] = {"record_probabilities": dict(zip(manifest["record_classes"], rp.round(4).tolist())),
                        "events": decode(fp, EVENT_LABELS, hop_s, params, edges=e), "quality": "ok",
                        "frame_uncertainty": frame_uncertainty(fp), "embedding": emb[0].numpy().tolist()}
    return out


def split_patients(recs, base_manifest: dict, test_fraction: float, log) -> tuple[np.ndarray, np.ndarray]:
    """(pool indices, test indices) by patient; see the module docstring."""
    unseen = set(base_manifest.get("split", {}).get("test_patients", []))
    idx = np.arange(len(recs))
    if unseen and any(r.patient in unseen for r in recs):
        idx = np.array([i for i, r in enumerate(recs) if r.patient in unseen])
        log(f"using the {len({recs[i].patient for i in idx})} patients ({len(idx)} recordings) the starting "
            f"detector never saw")
    pats = sorted({recs[i].patient for i in idx})
    if len(pats) < 2:
        raise ClinAudioError("the labeling study needs recordings of at least 2 patients", path=recs[0].audio)
    rng = np.random.default_rng(SPLIT_SEED)
    rng.shuffle(pats)
    test = set(pats[:max(1, int(round(test_fraction * len(pats))))])
    pool = np.array([i for i in idx if recs[i].patient not in test])
    te = np.array([i for i in idx if recs[i].patient in test])
    return pool, te


def simulate(data_dir: str | Path, strategy: str, *, budget: int = 150, step: int = 25, seed: int = 0,
             base_dir: str | Path | None = None, epochs: int = 4, lr: float = 1e-4, batch: int = 8,
             mode: str = "decoder",
             test_fraction: float = 0.5, cache_dir: str | Path | None = "runs/cache", threads: int = 2,
             progress=None, log=print) -> dict:
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; one of {', '.join(STRATEGIES)}")
    if step < 1 or budget < 1:
        raise ValueError("--step and --budget must be at least 1")
    torch.set_num_threads(max(1, threads))
    t0 = time.time()
    base_dir = Path(base_dir) if base_dir else bundled_detector_dir()
    base_net, base_m = load_net(base_dir)
    base_state = {k: v.clone() for k, v in base_net.state_dict().items()}
    recs = D.scan_recordings(data_dir)
    if not recs:
        raise ClinAudioError("no SPRSound-labelled recordings (audio + JSON) here", path=data_dir)
    D.load_features(recs, cache_dir=cache_dir)
    pool, test = split_patients(recs, base_m, test_fraction, log)
    budget = min(budget, len(pool))
    rounds = int(np.ceil(budget / step))
    log(f"pool {len(pool)} recordings / test {len(test)} recordings ({len({recs[i].patient for i in test})} "
        f"patients); {rounds} rounds of {step}")
    point = judge(base_net, base_m, recs, test)
    curve = [{"labels": 0, "event_f": point["event_f"], "score": point["score_2_2"], "seconds": 0.0}]
    labeled: list[int] = []
    net, cur_m = base_net, base_m
    for k in range(rounds):
        if progress is not None:
            progress(k, rounds)
        todo = [i for i in pool if i not in set(labeled)]
        res = _outputs(net, cur_m, recs, todo)
        by_path = {recs[i].audio: i for i in todo}
        order = rank_queue(res, strategy, seed=seed + 1000 * k)
        n_new = min(step, budget - len(labeled))
        labeled += [by_path[q.audio] for q in order[:n_new]]
        base_net.load_state_dict(base_state)
        net, cur_m, _ = adapt(base_net, base_m, recs, np.array(labeled), mode=mode, epochs=epochs,
                              seed=seed * 7919 + k, lr=lr, batch=batch)
        point = judge(net, cur_m, recs, test)
        curve.append({"labels": len(labeled), "event_f": point["event_f"], "score": point["score_2_2"],
                      "seconds": round(time.time() - t0, 1)})
        log(f"  {strategy} seed {seed}: {curve[-1]}")
    if progress is not None:
        progress(rounds, rounds)
    return {"strategy": strategy, "seed": seed, "adapt": mode, "budget": budget, "step": step, "epochs": epochs, "lr": lr,
            "data": str(data_dir), "base_model": base_m.get("name"), "base_dir": str(base_dir),
            "base_weights_sha256": base_m.get("weights_sha256"),
            "pool_recordings": int(len(pool)), "test_recordings": int(len(test)),
            "test_patients": sorted({recs[i].patient for i in test}), "split_seed": SPLIT_SEED,
            "curve": curve, "seconds": round(time.time() - t0, 1)}
