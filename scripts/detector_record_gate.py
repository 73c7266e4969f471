"""A record gate after the decoder (docs/rules/session17_record_gate.txt): drop a decoded event when
the record head says its family (CAS: Wheeze / Rhonchi / Stridor; DAS: crackles; Wheeze+Crackle:
either) is unlikely in the recording ("family"), or drop every event of a recording the head
calls unlikely to hold any adventitious sound ("any"), at a threshold tau.

For every fold package of RUN: the package's decoded events and calibrated record probabilities
of its inner-validation and test recordings (decoded exactly as ``calibrate.evaluate_outputs``;
the script checks that the ungated test event F equals the package's). sed_eval's micro event F
is 2 TP / (N_ref + N_sys) with TP, N_ref, N_sys summed over recordings, so each recording's
counts are computed once per kept-family set and summed. Choice on inner-validation patients
only: the mean inner-validation event F over the folds, and the cross-fitted criterion (patient
halves, 20 repetitions: (mode, tau) chosen on one half, scored on the other). Test figures are
printed beside them, never used to choose.

    .venv/bin/python scripts/detector_record_gate.py models/cv/det_cv25 --json runs/gate/det_cv25.json
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clinaudio_gui.engine.common.data import EVENT_LABELS, RECORD_LABELS  # noqa: E402
import detector_runs as R  # noqa: E402
from clinaudio_gui.engine.detector import scoring as S  # noqa: E402
from clinaudio_gui.engine.detector.decode import decode  # noqa: E402
from clinaudio_gui.engine.detector.proposal_fit import decoder_params  # noqa: E402
from clinaudio_gui.engine.detector.train import _load_net, fold_indices, predict  # noqa: E402
from clinaudio_gui.metrics import events as M  # noqa: E402

TAUS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
MODES = ("family", "any")
CONFIGS = [("none", 0.0)] + [(m, t) for m in MODES for t in TAUS]
FAMILY = {"Wheeze": "CAS", "Rhonchi": "CAS", "Stridor": "CAS", "Fine Crackle": "DAS",
          "Coarse Crackle": "DAS", "Wheeze+Crackle": "WC", "Normal": "N"}


def family_probs(rp: np.ndarray) -> dict:
    """p of each event family from the record probabilities (RECORD_LABELS order)."""
    r = dict(zip(RECORD_LABELS, rp))
    cas, das = r["CAS"] + r["CAS & DAS"], r["DAS"] + r["CAS & DAS"]
    return {"CAS": cas, "DAS": das, "WC": max(cas, das), "N": 1.0, "any": 1.0 - r["Normal"] - r["Poor Quality"]}


def kept_families(fp: dict, mode: str, tau: float) -> frozenset:
    if mode == "none":
        return frozenset(("CAS", "DAS", "WC", "N"))
    if mode == "any":
        return frozenset(("CAS", "DAS", "WC", "N")) if fp["any"] >= tau else frozenset(("N",))
    return frozenset(f for f in ("CAS", "DAS", "WC", "N") if fp[f] >= tau)


def counts(ref, est) -> tuple[int, int, int]:
    """(TP, N_ref, N_sys) of one recording under the evaluation's protocol (sed_eval)."""
    sed_eval = M._sed_eval()
    ev = sed_eval.sound_event.EventBasedMetrics(
        event_label_list=list(M.EVENT_CLASSES), t_collar=M.T_COLLAR_S, percentage_of_length=M.PERCENTAGE_OF_LENGTH,
        evaluate_onset=True, evaluate_offset=True)
    r, e = M.map_events(list(ref)), M.map_events(list(est))
    ev.evaluate(reference_event_list=M._rows("x", r), estimated_event_list=M._rows("x", e))
    o = ev.overall
    return int(o["Ntp"]), int(o["Nref"]), int(o["Nsys"])


def recording_rows(net, m, recs, idx, hop_s) -> list[dict]:
    """Per recording: patient, reference events, decoded events, record probabilities."""
    cal = m["calibration"]
    params = decoder_params(net, m["decoder"])
    seqs: list = []
    outs = predict(net, recs, idx, seqs=seqs)
    rows = []
    for j, ((fl, rl), i) in enumerate(zip(outs, idx)):
        r = recs[i]
        fp = S.softmax(fl / cal["t_frame"])
        e = None
        if params.needs_edges:
            from clinaudio_gui.engine.detector.edges import edge_probs
            e = edge_probs(net, seqs[j], fp)
        evs = [(x["start_s"], x["end_s"], x["label"]) for x in decode(fp, EVENT_LABELS, hop_s, params, edges=e)]
        rows.append({"audio": r.audio, "patient": r.patient, "ref": [tuple(x) for x in r.events], "est": evs,
                     "rp": S.softmax(rl / cal["t_record"]).tolist()})
    return rows


def config_counts(rows) -> np.ndarray:
    """(recordings, configs, 3) counts: TP, N_ref, N_sys of each recording under each config."""
    out = np.zeros((len(rows), len(CONFIGS), 3), np.int64)
    for k, row in enumerate(rows):
        fp = family_probs(np.asarray(row["rp"]))
        memo = {}
        for c, (mode, tau) in enumerate(CONFIGS):
            keep = kept_families(fp, mode, tau)
            if keep not in memo:
                memo[keep] = counts(row["ref"], [e for e in row["est"] if FAMILY[e[2]] in keep])
            out[k, c] = memo[keep]
    return out


def f_of(cnt: np.ndarray) -> np.ndarray:
    """Micro event F of each config from summed counts ((configs, 3))."""
    tp, nr, ns = cnt[..., 0], cnt[..., 1], cnt[..., 2]
    return np.where(nr + ns > 0, 2 * tp / np.maximum(nr + ns, 1), 0.0)


def breakdown(cached: dict) -> dict:
    """Where the inner-validation errors lie (all folds), by a simple one-sided matching (an
    estimated event matches an expert event of its class with the onset within 0.2 s and the offset
    within max(0.2 s, 20 %), as sed_eval's collars; not sed_eval's one-to-one assignment)."""
    fam = {"Crackle": "DAS", "Wheeze": "CAS", "Rhonchi": "CAS", "Stridor": "CAS"}
    c = {"tp": 0, "fp_class_not_in_recording": 0, "fp_over_no_event_of_class": 0, "fp_edge": 0, "fn": 0,
         "fn_in_pairs_without_any_detection_of_class": 0, "pairs_without_any_detection_of_class": 0,
         "of_those_pairs_record_family_p_below_0.3": 0, "their_events": 0}

    def hit(x, y):
        return abs(y[0] - x[0]) <= M.T_COLLAR_S and abs(y[1] - x[1]) <= max(M.T_COLLAR_S, M.PERCENTAGE_OF_LENGTH * (x[1] - x[0]))
    for d in cached.values():
        for r in d["val"]:
            ref = M.map_events([tuple(x) for x in r["ref"]])
            est = M.map_events([tuple(x) for x in r["est"]])
            fp = family_probs(np.asarray(r["rp"]))
            for y in est:
                same = [x for x in ref if x[2] == y[2]]
                if any(hit(x, y) for x in same):
                    c["tp"] += 1
                elif not same:
                    c["fp_class_not_in_recording"] += 1
                elif any(min(y[1], x[1]) > max(y[0], x[0]) for x in same):
                    c["fp_edge"] += 1
                else:
                    c["fp_over_no_event_of_class"] += 1
            for x in ref:
                if not any(hit(x, y) for y in est if y[2] == x[2]):
                    c["fn"] += 1
            for cls in {x[2] for x in ref}:
                if any(y[2] == cls for y in est):
                    continue
                n = sum(1 for x in ref if x[2] == cls)
                c["pairs_without_any_detection_of_class"] += 1
                c["fn_in_pairs_without_any_detection_of_class"] += n
                if fp[fam[cls]] < 0.3:
                    c["of_those_pairs_record_family_p_below_0.3"] += 1
                    c["their_events"] += n
    return c


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    ap.add_argument("--cache", default="runs/cache")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rows", default=None, help="reuse / write the per-recording rows (JSON)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--breakdown", action="store_true", help="also print where the inner-validation errors lie")
    a = ap.parse_args(argv)
    folds = R.fold_dirs(a.run)
    cached = json.loads(Path(a.rows).read_text()) if a.rows and Path(a.rows).exists() else None
    if cached is None:
        import torch
        torch.set_num_threads(a.threads)
        recs, hop_s = R.recordings(a.data, a.cache)
        cached = {}
        for fdir in folds:
            net, m = _load_net(fdir)
            _, va_idx, te_idx = fold_indices(recs, m)
            cached[fdir.name] = {"val": recording_rows(net, m, recs, va_idx, hop_s),
                                 "test": recording_rows(net, m, recs, te_idx, hop_s),
                                 "package_test_f": m["metrics"].get("event_f_micro")}
            print(f"{fdir.name}: predicted", flush=True)
        R.write_json(a.rows, cached)
    if a.breakdown:
        print("inner-validation error breakdown (all folds):", json.dumps(breakdown(cached)), flush=True)
    names = [f"{m}@{t:g}" if m != "none" else "none" for m, t in CONFIGS]
    val_f, test_f, cross = [], [], []
    report = {"configs": names, "folds": {}}
    for fold, d in cached.items():
        cv, ct = config_counts(d["val"]), config_counts(d["test"])
        fv, ft = f_of(cv.sum(0)), f_of(ct.sum(0))
        pkg = d["package_test_f"]
        print(f"{fold}: ungated test F {ft[0]:.4f} (package {pkg})", flush=True)
        if pkg is not None and abs(ft[0] - float(pkg)) > 1e-3:
            raise SystemExit(f"{fold}: ungated test F {ft[0]:.4f} differs from the package's {pkg}")
        patients = np.array([r["patient"] for r in d["val"]])
        uniq = np.unique(patients)
        rule = []     # other-half F of "choose the best config on this half", and of "none"
        for rep in range(a.repeats):
            perm = np.random.default_rng(rep).permutation(uniq)
            half = np.isin(patients, perm[: len(perm) // 2])
            for fit, other in ((half, ~half), (~half, half)):
                c = int(np.argmax(f_of(cv[fit].sum(0))))
                fo = f_of(cv[other].sum(0))
                rule.append((fo[c], fo[0]))
        rule = np.array(rule)
        val_f.append(fv)
        test_f.append(ft)
        cross.append(rule.mean(0))
        report["folds"][fold] = {"val_f": fv.round(4).tolist(), "test_f": ft.round(4).tolist(),
                                 "crossfit_chosen_vs_none": rule.mean(0).round(4).tolist()}
    val_f, test_f, cross = np.array(val_f), np.array(test_f), np.array(cross)
    print(f"\n{'config':<12} {'val F (mean)':>12} {'test F mean +- std':>20}")
    for c, n in enumerate(names):
        print(f"{n:<12} {val_f[:, c].mean():>12.4f} {test_f[:, c].mean():>12.4f} +- {test_f[:, c].std():.4f}  "
              f"per fold {' '.join(f'{x:.3f}' for x in test_f[:, c])}")
    best = int(np.argmax(val_f.mean(0)))
    gain = float(cross[:, 0].mean() - cross[:, 1].mean())
    adopt = gain >= 0.003 and best != 0
    print(f"\ncross-fitted: choose-on-half {cross[:, 0].mean():.4f} vs none {cross[:, 1].mean():.4f} "
          f"(gain {gain:+.4f}); best by mean val F: {names[best]}; rule -> {names[best] if adopt else 'none'}")
    report.update({"val_f_mean": val_f.mean(0).round(4).tolist(), "test_f_mean": test_f.mean(0).round(4).tolist(),
                   "test_f_std": test_f.std(0).round(4).tolist(), "crossfit_gain": round(gain, 4),
                   "best_by_val": names[best], "decision": names[best] if adopt else "none"})
    R.write_json(a.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
