"""Does the average of two detector networks hear the events better than either alone?
(docs/rules/session25_seed_ensemble.txt.) For each fold, on its **inner-validation** patients only:
network A (``--base``, the product's run), network B (RUN, e.g. another network seed on the same folds)
and E, the per-frame mean of their temperature-scaled class probabilities (each network's frame
temperature fitted on those frames, as calibration does). Reported per fold and network:

1. frame average precision (scikit-learn) of the Crackle family (Fine + Coarse + Wheeze+Crackle), the
   Wheeze family (Wheeze + Stridor + Rhonchi + Wheeze+Crackle) and any adventitious class against the
   experts' frame labels, and their mean (threshold-free);
2. event F (sed_eval, the evaluation's protocol) of the thresholding decoder search
   (``calibrate.tune_decoder``) cross-fitted: searched on a random half of the patients, scored on the
   other, both ways, ``--halvings`` times; the mean.

    .venv/bin/python scripts/detector_ensemble_probe.py runs/det_s1 --base models/cv/det_cv25 --folds 0 1 \
        [--halvings 5] [--json runs/ensemble_probe.json]
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import detector_runs as R  # noqa: E402
from clinaudio_gui.engine.detector import scoring as S  # noqa: E402
from clinaudio_gui.engine.detector.calibrate import tune_decoder  # noqa: E402
from clinaudio_gui.engine.detector.data import FRAME_CLASSES, frame_target  # noqa: E402
from clinaudio_gui.engine.detector.train import _load_net, fold_indices, predict  # noqa: E402
from clinaudio_gui.metrics.events import event_metrics  # noqa: E402

FAMILIES = {"crackle": ["Coarse Crackle", "Fine Crackle", "Wheeze+Crackle"],
            "wheeze": ["Rhonchi", "Wheeze", "Stridor", "Wheeze+Crackle"],
            "adventitious": ["Rhonchi", "Wheeze", "Stridor", "Coarse Crackle", "Fine Crackle", "Wheeze+Crackle"]}


def frame_ap(probs: list[np.ndarray], targets: list[np.ndarray]) -> dict:
    """Average precision of each family's summed frame probability against the expert frames."""
    from sklearn.metrics import average_precision_score
    p, y = np.concatenate(probs), np.concatenate(targets)
    out = {}
    for fam, labs in FAMILIES.items():
        cols = [FRAME_CLASSES.index(lab) for lab in labs]
        out[fam] = round(float(average_precision_score(np.isin(y, cols), p[:, cols].sum(1))), 4)
    out["mean"] = round(float(np.mean([out[f] for f in FAMILIES])), 4)
    return out


def crossfit_f(outs, idx, recs, hop_s: float, halvings: int, seed: int = 0) -> tuple[float, list[float]]:
    """Mean event F over ``halvings`` random patient halvings x both directions: the decoder searched
    on one half (``tune_decoder``, probabilities as given: temperature 1), scored on the other."""
    from clinaudio_gui.engine.detector.calibrate import _decode_all, _ref_events
    patients = sorted({recs[i].patient for i in idx})
    rng = np.random.default_rng(seed)
    fs = []
    for _ in range(halvings):
        half = set(rng.permutation(patients)[: len(patients) // 2])
        mask = np.array([recs[i].patient in half for i in idx])
        for fit, score in ((mask, ~mask), (~mask, mask)):
            o_fit = [o for o, m in zip(outs, fit) if m]
            params, _ = tune_decoder(o_fit, idx[fit], recs, 1.0, hop_s, log=lambda *a, **k: None)
            o_sc, i_sc = [o for o, m in zip(outs, score) if m], idx[score]
            est = _decode_all(o_sc, i_sc, recs, params, 1.0, hop_s)
            dur = {recs[i].audio: recs[i].duration_s for i in i_sc}
            f = event_metrics(_ref_events(recs, i_sc), est, durations_s=dur)["event_based"]["micro"]["f"] or 0.0
            fs.append(round(float(f), 4))
    return round(float(np.mean(fs)), 4), fs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="network B's run (fold packages, e.g. runs/det_s1)")
    ap.add_argument("--base", default="models/cv/det_cv25", help="network A's run (default: the product's)")
    ap.add_argument("--folds", type=int, nargs="*", default=None)
    ap.add_argument("--halvings", type=int, default=5)
    ap.add_argument("--limit", type=int, default=None, help="first N inner-validation recordings (a smoke run)")
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    ap.add_argument("--cache", default="runs/cache")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(a.threads)
    recs, hop_s = R.recordings(a.data, a.cache)
    report = {}
    for fb in R.fold_dirs(a.run):
        k = int(fb.name[4:])
        if a.folds is not None and k not in a.folds:
            continue
        t0 = time.time()
        fa = Path(a.base) / fb.name
        (net_a, m_a), (net_b, m_b) = _load_net(fa), _load_net(fb)
        _, va, _ = fold_indices(recs, m_a)
        if sorted(m_a["split"]["test_patients"]) != sorted(m_b["split"]["test_patients"]) or \
                sorted(m_a["split"]["inner_val_patients"]) != sorted(m_b["split"]["inner_val_patients"]):
            raise SystemExit(f"{fa} and {fb}: different splits")
        va = va[: a.limit] if a.limit else va
        logp, temps = {}, {}
        targets = None
        for name, net in (("A", net_a), ("B", net_b)):
            outs = predict(net, recs, va)
            if targets is None:
                targets = [frame_target(recs[i].events, len(fl), hop_s) for (fl, _), i in zip(outs, va)]
            t = S.fit_temperature(np.concatenate([fl for fl, _ in outs]), np.concatenate(targets))
            temps[name] = round(t, 4)
            logp[name] = [np.log(np.clip(S.softmax(fl / t), 1e-12, 1.0)) for fl, _ in outs]
        logp["E"] = [np.log(0.5 * (np.exp(x) + np.exp(y))) for x, y in zip(logp["A"], logp["B"])]
        row = {"a": str(fa), "b": str(fb), "inner_val_recordings": len(va), "temperatures": temps}
        for name in ("A", "B", "E"):
            outs = [(lp, None) for lp in logp[name]]
            f, fs = crossfit_f(outs, va, recs, hop_s, a.halvings)
            row[name] = {"frame_ap": frame_ap([np.exp(x) for x in logp[name]], targets), "crossfit_event_f": f,
                         "crossfit_runs": fs}
            print(f"fold {k} {name}: AP {row[name]['frame_ap']}  cross-fitted event F {f:.4f}", flush=True)
        row["seconds"] = round(time.time() - t0)
        report[fb.name] = row
    R.write_json(a.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
