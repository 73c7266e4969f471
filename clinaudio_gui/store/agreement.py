"""How well annotators agree: record labels and events, with the field's libraries.

Record labels: Cohen's kappa (scikit-learn) for each pair; for three or more annotators Fleiss'
kappa (statsmodels, recordings labeled by all) and Krippendorff's alpha (krippendorff, nominal,
missing labels allowed). Each with a 95 % percentile bootstrap interval over recordings (seeded)
and n. A confusion matrix per pair (rows: the first annotator). Events: sed_eval event-based F1
between each pair, per class, through :mod:`clinaudio_gui.metrics.events` (the detector's
protocol), so agreement and detector figures are comparable.
"""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np

from clinaudio_gui.metrics.events import event_metrics
from clinaudio_gui.store.models import CONSENSUS
from clinaudio_gui.store.url import StoreError

N_BOOT = 1000


def _ci(stat, n: int, n_boot: int, seed: int) -> list[float | None]:
    """95 % percentile bootstrap interval of ``stat(indices)`` over ``n`` items."""
    if n < 2 or n_boot <= 0:
        return [None, None]
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        v = stat(rng.integers(0, n, n))
        if v is not None and math.isfinite(v):
            vals.append(v)
    if len(vals) < max(10, n_boot // 10):
        return [None, None]
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            v = float(fn(*args, **kw))
        except (ValueError, ZeroDivisionError, FloatingPointError):
            return None
    return v if math.isfinite(v) else None


def cohen(a: list[str], b: list[str], *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    from sklearn.metrics import cohen_kappa_score
    a_arr, b_arr = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    k = _quiet(cohen_kappa_score, a_arr, b_arr) if len(a) else None
    ci = _ci(lambda ix: _quiet(cohen_kappa_score, a_arr[ix], b_arr[ix]), len(a), n_boot, seed)
    agree = float(np.mean(a_arr == b_arr)) if len(a) else None
    return {"cohen_kappa": None if k is None else round(k, 4), "ci95": ci, "n": len(a),
            "observed_agreement": None if agree is None else round(agree, 4)}


def confusion(a: list[str], b: list[str]) -> dict:
    from sklearn.metrics import confusion_matrix
    labels = sorted(set(a) | set(b))
    mat = confusion_matrix(a, b, labels=labels).tolist() if a else []
    return {"labels": labels, "matrix": mat}


def many_raters(table: list[list[str | None]], *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """``table``: one row per recording, one column per annotator (None: not labeled)."""
    import krippendorff
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
    cats = sorted({x for row in table for x in row if x is not None})
    code = {c: i for i, c in enumerate(cats)}
    coded = np.array([[np.nan if x is None else code[x] for x in row] for row in table], dtype=float)
    full = coded[~np.isnan(coded).any(axis=1)].astype(int) if len(coded) else np.zeros((0, 0), int)
    usable = coded[(~np.isnan(coded)).sum(axis=1) >= 2] if len(coded) else coded

    def fleiss(rows):
        if len(rows) == 0:
            return None
        counts, _ = aggregate_raters(rows, n_cat=len(cats))
        return _quiet(fleiss_kappa, counts, method="fleiss")

    def alpha(rows):
        if len(rows) == 0 or len(cats) < 2:
            return None
        return _quiet(krippendorff.alpha, reliability_data=rows.T, level_of_measurement="nominal")

    fk, ka = fleiss(full), alpha(usable)
    return {"fleiss_kappa": None if fk is None else round(fk, 4),
            "fleiss_kappa_ci95": _ci(lambda ix: fleiss(full[ix]), len(full), n_boot, seed),
            "fleiss_n": int(len(full)),
            "krippendorff_alpha": None if ka is None else round(ka, 4),
            "krippendorff_alpha_ci95": _ci(lambda ix: alpha(usable[ix]), len(usable), n_boot, seed + 1),
            "krippendorff_n": int(len(usable)), "categories": cats}


def _events(ls) -> list[tuple[float, float, str]]:
    return [(s.start_s, s.end_s, s.label) for s in ls.annotations.segments]


def project_agreement(store, annotators: list[str] | None = None, *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """The agreement report of ``clinaudio project agreement``."""
    if store.my_role not in ("reviewer", "admin"):
        raise StoreError(f"permission denied: agreement compares everyone's labels; {store.me or store.login!r} "
                         f"is {'an ' + store.my_role if store.my_role else 'not a member'} (blind labeling)",
                         path=store.url.display)
    recs = {r.id: r for r in store.recordings()}
    if annotators:
        for a in annotators:
            store.require_person(a)
    sets = store.load_all(annotators or None)
    if not annotators:
        annotators = sorted({o for (_, o) in sets if o != CONSENSUS})
    if len(annotators) < 2:
        raise StoreError(f"agreement needs at least two annotators with labels (found "
                         f"{', '.join(annotators) or 'none'})", path=store.url.display)
    by_rec: dict[int, dict] = {}
    for (rid, owner), ls in sets.items():
        if owner in annotators:
            by_rec.setdefault(rid, {})[owner] = ls
    rec_ids = sorted(by_rec, key=lambda r: recs[r].name)
    pairs = []
    for i, (a, b) in enumerate(itertools.combinations(annotators, 2)):
        both = [r for r in rec_ids if a in by_rec[r] and b in by_rec[r]]
        la = [by_rec[r][a].annotations.record_label for r in both]
        lb = [by_rec[r][b].annotations.record_label for r in both]
        keep = [j for j in range(len(both)) if la[j] is not None and lb[j] is not None]
        la, lb = [la[j] for j in keep], [lb[j] for j in keep]
        row = {"annotators": [a, b], "record": cohen(la, lb, n_boot=n_boot, seed=seed + i),
               "confusion": confusion(la, lb)}
        if both:
            with warnings.catch_warnings():   # sed_eval: "mean of empty slice" for absent classes
                warnings.simplefilter("ignore")
                ev = event_metrics({recs[r].name: _events(by_rec[r][a]) for r in both},
                                   {recs[r].name: _events(by_rec[r][b]) for r in both},
                                   durations_s={recs[r].name: recs[r].duration_s for r in both
                                                if recs[r].duration_s})
            row["events"] = {"n_recordings": ev["n_recordings"], "n_events": [ev["n_reference_events"],
                                                                               ev["n_estimated_events"]],
                             "event_f1_micro": ev["event_based"]["micro"]["f"],
                             "event_f1_macro": ev["event_based"]["macro"]["f"],
                             "per_class": {k: {"f": v["f"], "n": [v["n_ref"], v["n_est"]]}
                                           for k, v in ev["event_based"]["per_class"].items()},
                             "segment_f1_micro": ev["segment_based"]["micro"]["f"]}
        pairs.append(row)
    out = {"annotators": annotators, "recordings_compared": len(rec_ids), "n_boot": n_boot, "seed": seed,
           "pairs": pairs, "event_protocol": "clinaudio_gui.metrics.events (sed_eval, t_collar 0.2 s, "
           "offset collar max(0.2 s, 20 %), Normal dropped, crackles merged)"}
    if len(pairs) == 1:
        out["record"] = pairs[0]["record"]
    else:
        table = [[by_rec[r][a].annotations.record_label if a in by_rec[r] else None for a in annotators]
                 for r in rec_ids]
        out["record"] = many_raters(table, n_boot=n_boot, seed=seed)
    st = store.status()
    out["progress"] = {a: st["progress"].get(a, {}) for a in annotators}
    return out
