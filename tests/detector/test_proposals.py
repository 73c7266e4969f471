"""The proposal decoder: candidates cover the events, the stored trees score exactly as
scikit-learn's, a scorer learnt on known activity recovers known events (where one threshold
puts the edges late), selection never overlaps, and the scorer travels in the package."""
import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from clinaudio_gui.engine.detector.data import FRAME_CLASSES
from clinaudio_gui.engine.detector.decode import DecoderParams, base_ranges, decode
from clinaudio_gui.engine.detector.proposals import (MeanScorer, MLPScorer, ProposalScorer, all_features,
                                                     candidates, match_targets, proposal_features, select)
from clinaudio_gui.metrics.events import event_metrics

CLASSES = FRAME_CLASSES[1:]
HOP = 0.016


def track(rng, n=900):
    """Random cycles (1.0-1.8 s, gaps 0.3-1.2 s). The network-like activity rises 0.35 s after
    the true onset and falls 0.35 s before the true offset, with a soft ramp and noise."""
    p = np.zeros((n, 8))
    act = np.zeros(n)
    lab = np.zeros(n, np.int64)
    events, t = [], int(rng.integers(10, 60))
    while True:
        d, g = int(rng.integers(63, 112)), int(rng.integers(19, 75))
        if t + d >= n - 5:
            break
        c = int(rng.choice([1, 3, 6]))   # Normal, Wheeze, Fine Crackle
        events.append((t * HOP, (t + d) * HOP, FRAME_CLASSES[c]))
        a, b = t + 22, t + d - 22
        act[a:b] = 0.85
        ramp = np.linspace(0, 0.85, 8)
        act[a - 8:a] = np.maximum(act[a - 8:a], ramp)
        act[b:b + 8] = np.maximum(act[b:b + 8], ramp[::-1])
        lab[t:t + d] = c
        t += d + g
    act = np.clip(act + rng.normal(0, 0.04, n), 0.01, 0.97)
    p[:, 0] = 1 - act
    c = np.where(lab > 0, lab, 1)
    p[np.arange(n), c] += act * 0.8
    p[:, 1:] += (act * 0.2 / 7)[:, None]
    return p / p.sum(1, keepdims=True), events


def fit_scorer(rng, n_tracks=40):
    xs, ys = [], []
    for _ in range(n_tracks):
        p, ev = track(rng)
        c = candidates(p, HOP)
        xs.append(proposal_features(p, c, HOP))
        ys.append(match_targets(c, ev, HOP))
    return ProposalScorer.fit(np.concatenate(xs), np.concatenate(ys), trees=60, depth=4, seed=0)


def test_stored_trees_score_exactly_as_sklearn():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 12))
    y = (x[:, 0] + np.sin(3 * x[:, 1]) * x[:, 2] + rng.normal(0, 0.3, 3000)) > 0
    hgb = HistGradientBoostingClassifier(max_depth=4, max_iter=50, random_state=0).fit(x, y)
    sc = ProposalScorer.from_sklearn(hgb, 4)
    xt = rng.normal(size=(500, 12))
    np.testing.assert_allclose(sc(xt), hgb.predict_proba(xt)[:, 1], atol=1e-12)
    again = ProposalScorer.from_arrays(sc.arrays())
    np.testing.assert_array_equal(again(xt), sc(xt))
    with pytest.raises(ValueError, match="deeper"):
        ProposalScorer.from_sklearn(HistGradientBoostingClassifier(max_depth=6, max_iter=5).fit(x, y), 4)


def test_stored_network_scores_exactly_as_sklearn():
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2000, 12)) * rng.uniform(0.1, 10, 12) + rng.normal(0, 5, 12)
    y = (x[:, 0] * x[:, 1] > 0) ^ (rng.random(2000) < 0.1)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=200, random_state=0)).fit(x, y)
    sc = MLPScorer.from_sklearn(pipe)
    xt = rng.normal(size=(300, 12)) * 3
    np.testing.assert_allclose(sc(xt), pipe.predict_proba(xt)[:, 1], atol=1e-10)
    assert (sc.inputs, sc.hidden) == (12, 16)
    np.testing.assert_array_equal(MLPScorer.from_arrays(sc.arrays())(xt), sc(xt))
    # it learnt the interaction (a linear model cannot): it is not just the arrays round-tripping
    assert ((sc(x) > 0.5) == y).mean() > 0.8
    deep = make_pipeline(StandardScaler(), MLPClassifier((4, 4), max_iter=5, random_state=0)).fit(x, y)
    with pytest.raises(ValueError, match="one-hidden-layer"):
        MLPScorer.from_sklearn(deep)
    fitted = MLPScorer.fit(x, y, hidden=8, seed=0, max_iter=5)
    assert fitted.hidden == 8 and np.array_equal(fitted(xt), MLPScorer.fit(x, y, hidden=8, seed=0, max_iter=5)(xt))


def test_candidates_cover_the_true_events_and_selection_never_overlaps():
    rng = np.random.default_rng(2)
    p, ev = track(rng)
    c = candidates(p, HOP)
    assert len(c) > len(ev) and (c[:, 1] > c[:, 0]).all() and c.min() >= 0 and c.max() <= len(p)
    assert match_targets(c, ev, HOP).sum() >= len(ev)   # shifted candidates reach the true edges
    s = rng.random(len(c))
    kept = select(c, s, 0.3)
    for (a, b), (a2, b2) in zip(kept, kept[1:]):
        assert b <= a2
    best = {tuple(x) for x, v in zip(c, s) if v >= 0.3}
    assert set(kept) <= best and select(c, s, 1.1) == []


def test_learnt_scorer_recovers_events_whose_activity_is_late():
    rng = np.random.default_rng(3)
    scorer = fit_scorer(rng)
    ref, est, thr = {}, {}, {}
    for k in range(12):
        p, ev = track(rng)
        ref[k] = [e for e in ev]
        got = decode(p, CLASSES, HOP, DecoderParams(mode="proposals", proposal_threshold=0.5, scorer=scorer))
        est[k] = [(e["start_s"], e["end_s"], e["label"]) for e in got]
        plain = decode(p, CLASSES, HOP, DecoderParams(default_threshold=0.5, median_frames=1, min_duration_s=0.1))
        thr[k] = [(e["start_s"], e["end_s"], e["label"]) for e in plain]
    f = event_metrics(ref, est, map_labels=False)["event_based"]["micro"]["f"]
    f_thr = event_metrics(ref, thr, map_labels=False)["event_based"]["micro"]["f"]
    assert f >= 0.8, f
    assert f_thr <= 0.3, f_thr   # one threshold leaves the edges 0.3 s off: outside the collar


def test_proposal_mode_needs_a_scorer_and_settles_later():
    p = np.zeros((100, 8))
    p[:, 0] = 1
    with pytest.raises(ValueError, match="proposal scorer"):
        decode(p, CLASSES, HOP, DecoderParams(mode="proposals"))
    assert DecoderParams(mode="proposals").settle_frames(HOP) * HOP >= 0.8
    assert DecoderParams(max_gap_s=0.1, median_frames=5).settle_frames(HOP) == 11
    assert "scorer" not in DecoderParams(mode="proposals").to_dict()


def test_scorer_travels_in_the_package(tmp_path):
    torch = pytest.importorskip("torch")
    from clinaudio_gui.engine.common.package import load_model_package, save_model_package
    from clinaudio_gui.engine.detector.model import DetectorConfig, DetectorNet
    from clinaudio_gui.engine.detector.proposal_fit import decoder_params, with_proposal_scorer
    rng = np.random.default_rng(4)
    scorer = fit_scorer(rng, n_tracks=10)
    torch.manual_seed(0)
    net = with_proposal_scorer(DetectorNet(DetectorConfig(widths=(4, 4, 4), d_model=8, rnn_hidden=4, n_heads=2)),
                               scorer)
    save_model_package(tmp_path, dict(net.state_dict()), {"kind": "detector", "architecture": net.cfg.to_dict()})
    tensors, m = load_model_package(tmp_path, kind="detector")
    net2 = DetectorNet(DetectorConfig.from_dict(m["architecture"]))
    net2.load_state_dict(tensors)
    params = decoder_params(net2, {"mode": "proposals", "proposal_threshold": 0.5})
    p, _ = track(rng)
    a = decode(p, CLASSES, HOP, DecoderParams(mode="proposals", proposal_threshold=0.5, scorer=scorer))
    assert a and decode(p, CLASSES, HOP, params) == a


@pytest.mark.parametrize("kinds", [("network",), ("trees", "network")])
def test_network_scorer_and_the_mean_of_both_travel_in_the_package(tmp_path, kinds):
    torch = pytest.importorskip("torch")
    from clinaudio_gui.engine.common.package import load_model_package, save_model_package
    from clinaudio_gui.engine.detector.model import DetectorConfig, DetectorNet
    from clinaudio_gui.engine.detector.proposal_fit import decoder_params, with_proposal_scorer
    rng = np.random.default_rng(6)
    xs, ys = [], []
    for _ in range(10):
        p, ev = track(rng)
        c = candidates(p, HOP)
        xs.append(proposal_features(p, c, HOP))
        ys.append(match_targets(c, ev, HOP))
    x, y = np.concatenate(xs), np.concatenate(ys)
    trees = ProposalScorer.fit(x, y, trees=30, depth=3) if "trees" in kinds else None
    mlp = MLPScorer.fit(x, y, hidden=16, max_iter=40)
    scorer = mlp if trees is None else MeanScorer(trees, mlp)
    torch.manual_seed(0)
    net = DetectorNet(DetectorConfig(widths=(4, 4, 4), d_model=8, rnn_hidden=4, n_heads=2))
    net = with_proposal_scorer(with_proposal_scorer(net, fit_scorer(rng, n_tracks=3)), trees=trees, mlp=mlp)
    assert hasattr(net, "proposal_scorer") == (trees is not None) and hasattr(net, "proposal_mlp")
    save_model_package(tmp_path, dict(net.state_dict()), {"kind": "detector", "architecture": net.cfg.to_dict()})
    tensors, m = load_model_package(tmp_path, kind="detector")
    net2 = DetectorNet(DetectorConfig.from_dict(m["architecture"]))
    net2.load_state_dict(tensors)
    params = decoder_params(net2, {"mode": "proposals", "proposal_threshold": 0.5})
    assert isinstance(params.scorer, MLPScorer if trees is None else MeanScorer)
    p, ev = track(rng)
    a = decode(p, CLASSES, HOP, DecoderParams(mode="proposals", proposal_threshold=0.5, scorer=scorer))
    assert a and decode(p, CLASSES, HOP, params) == a
    est = {0: [(e["start_s"], e["end_s"], e["label"]) for e in a]}
    assert event_metrics({0: ev}, est, map_labels=False)["event_based"]["micro"]["f"] >= 0.6


def test_base_decoder_events_join_the_candidates_and_the_features():
    rng = np.random.default_rng(5)
    base = DecoderParams(default_threshold=0.5, median_frames=1, min_duration_s=0.1, onset_shift_s=-0.3,
                         offset_shift_s=0.3)   # this base decoder's events land on the true edges
    xs, ys = [], []
    for _ in range(30):
        p, ev = track(rng)
        r = base_ranges(p, CLASSES, HOP, base.to_dict())
        c = candidates(p, HOP, r)
        assert {tuple(x) for x in r} <= {tuple(x) for x in c}
        x = all_features(p, c, HOP, r)
        assert x.shape == (len(c), proposal_features(p, c[:1], HOP).shape[1] + 4)
        assert (x[np.isin(c[:, 0], r[:, 0]) & np.isin(c[:, 1], r[:, 1]), -1] == 1).any()
        xs.append(x)
        ys.append(match_targets(c, ev, HOP))
    scorer = ProposalScorer.fit(np.concatenate(xs), np.concatenate(ys), trees=60, depth=4)
    params = DecoderParams(mode="proposals", proposal_threshold=0.5, proposal_base=base.to_dict(), scorer=scorer)
    ref, est = {}, {}
    for k in range(8):
        p, ev = track(rng)
        ref[k] = ev
        est[k] = [(e["start_s"], e["end_s"], e["label"]) for e in decode(p, CLASSES, HOP, params)]
    assert event_metrics(ref, est, map_labels=False)["event_based"]["micro"]["f"] >= 0.8
    assert DecoderParams.from_dict(params.to_dict()).proposal_base == base.to_dict()
    with pytest.raises(ValueError, match="base decoder"):
        base_ranges(p, CLASSES, HOP, {"mode": "proposals"})


def test_package_with_proposal_decoder_but_no_scorer_is_refused_at_load(tmp_path):
    pytest.importorskip("torch")
    from clinaudio_gui.core.errors import ModelPackageError
    from clinaudio_gui.engine.common.package import load_model_package, save_model_package
    from clinaudio_gui.engine.detector.infer import Detector, bundled_detector_dir
    tensors, m = load_model_package(bundled_detector_dir(), kind="detector")
    tensors = {k: v for k, v in tensors.items() if not k.startswith("proposal_")}
    m = {k: v for k, v in m.items() if not k.startswith("weights") and k not in ("format", "format_version")}
    m["architecture"] = {**m["architecture"], "proposal_trees": 0, "proposal_depth": 0, "proposal_mlp_inputs": 0,
                         "proposal_mlp_hidden": 0}
    m["decoder"] = {**m["decoder"], "mode": "proposals"}
    save_model_package(tmp_path / "pkg", tensors, m)
    with pytest.raises(ModelPackageError, match="no proposal scorer") as e:
        Detector(tmp_path / "pkg")
    assert "pkg" in str(e.value)


def test_class_target_counts_a_candidate_only_when_its_name_would_count():
    from clinaudio_gui.engine.common.data import EVENT_LABELS
    from clinaudio_gui.engine.detector.proposal_fit import _candidate_rows, _compatible, candidate_names
    from clinaudio_gui.engine.detector.proposals import name_events
    rng = np.random.default_rng(7)
    p, ev = track(rng)
    c = candidates(p, HOP)
    # the names are those the decoder gives (with and without label offsets)
    for offsets in ({}, {"Normal": -1.0, "Wheeze": 0.5}):
        names = candidate_names(p, c, offsets)
        got = [e["label"] for e in name_events(p, list(EVENT_LABELS), HOP, [tuple(x) for x in c[:200]], offsets)]
        assert [EVENT_LABELS[k] for k in names[:200]] == got
    compat = _compatible()
    ix = EVENT_LABELS.index
    assert compat[ix("Normal"), ix("Normal")] and not compat[ix("Fine Crackle"), ix("Normal")]
    assert compat[ix("Coarse Crackle"), ix("Fine Crackle")] and compat[ix("Wheeze"), ix("Wheeze+Crackle")]
    assert not compat[ix("Wheeze"), ix("Rhonchi")] and not compat[ix("Normal"), ix("Wheeze")]
    # every expert event relabelled: what sat on the truth and was named as it is, no longer counts
    wrong = [(s, e, "Stridor") for s, e, _ in ev]
    _, y_any = _candidate_rows([p], [ev], HOP, seed=0)
    _, y_cls = _candidate_rows([p], [ev], HOP, seed=0, class_offsets={})
    _, y_wrong = _candidate_rows([p], [wrong], HOP, seed=0, class_offsets={})
    assert y_any.sum() > 0 and 0 < y_cls.sum() <= y_any.sum() and y_wrong.sum() == 0


def test_smoothed_threshold_rule_passes_over_a_one_point_spike():
    from clinaudio_gui.engine.detector.proposal_fit import THRESHOLDS, ProposalSearch, choose_threshold
    f = dict(zip(THRESHOLDS, [0.150, 0.249, 0.188, 0.215, 0.227, 0.213, 0.199, 0.174, 0.090]))
    assert choose_threshold(f, "max") == (0.6, 0.249)
    thr, crit = choose_threshold(f, "smoothed")
    assert thr == 0.8 and crit == pytest.approx((0.215 + 0.227 + 0.213) / 3)
    # at the grid's ends the mean is over the end and its one neighbour
    end = dict(zip(THRESHOLDS, [0.40, 0.30, 0.20, 0.20, 0.20, 0.20, 0.20, 0.20, 0.20]))
    assert choose_threshold(end, "smoothed") == (0.5, pytest.approx(0.35))
    # a smooth curve: both rules agree; a tie goes to the threshold nearest 0.7
    g = dict(zip(THRESHOLDS, [0.30, 0.32, 0.34, 0.36, 0.38, 0.36, 0.34, 0.32, 0.30]))
    assert choose_threshold(g, "max")[0] == choose_threshold(g, "smoothed")[0] == 0.8
    flat = dict(zip(THRESHOLDS, [0.3] * 9))
    assert choose_threshold(flat, "smoothed")[0] == 0.7
    with pytest.raises(ValueError, match="median"):
        choose_threshold(f, "median")
    with pytest.raises(ValueError, match="forest"):
        ProposalSearch(scorers=("forest",))
    with pytest.raises(ValueError, match="variants"):
        ProposalSearch(variants=())
    assert ProposalSearch().to_dict()["threshold_rule"] == "max"


# bagged proposal scorers (--proposal-bags): the rows each bag sees, and merged scorers that carry
# the mean of the members' log-odds in the package's existing arrays
def logit(p):
    return np.log(p) - np.log1p(-p)


def data(seed, n=2500, shift=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10)) * rng.uniform(0.2, 8, 10) + rng.normal(0, 4, 10) + shift
    z = x - x.mean(0)
    y = (z[:, 0] * z[:, 1] > 0) ^ (rng.random(n) < 0.1)
    return x, y


def test_merged_trees_give_the_mean_of_the_members_log_odds():
    members = [ProposalScorer.fit(*data(s), trees=30, depth=4, seed=s) for s in range(3)]
    xt = data(9, n=400)[0]
    merged = ProposalScorer.merged(members)
    want = np.mean([logit(m(xt)) for m in members], axis=0)
    np.testing.assert_allclose(logit(merged(xt)), want, atol=1e-9)
    assert merged.feature.shape == (90, 15) and merged.depth == 4
    # the members differ (else the test could not tell a mean from one of them)
    assert np.abs(logit(members[0](xt)) - logit(members[1](xt))).max() > 0.1
    np.testing.assert_array_equal(ProposalScorer.from_arrays(merged.arrays())(xt), merged(xt))
    with pytest.raises(ValueError, match="same depth"):
        ProposalScorer.merged([members[0], ProposalScorer.fit(*data(0), trees=5, depth=3, seed=0)])


def test_merged_networks_give_the_mean_of_the_members_logits_whatever_their_standardisation():
    # the members are fitted on differently located rows, so their standardisations differ
    members = [MLPScorer.fit(*data(s, shift=3.0 * s), hidden=8, seed=s, max_iter=30) for s in range(3)]
    assert not np.allclose(members[0].mean, members[2].mean)
    xt = data(9, n=400)[0]
    merged = MLPScorer.merged(members)
    want = np.mean([logit(m(xt)) for m in members], axis=0)
    np.testing.assert_allclose(logit(merged(xt)), want, atol=1e-8)
    assert (merged.inputs, merged.hidden) == (10, 24)
    np.testing.assert_array_equal(MLPScorer.from_arrays(merged.arrays())(xt), merged(xt))


def test_bags_share_the_positives_and_split_the_negatives():
    from clinaudio_gui.engine.detector.proposal_fit import NEGATIVES_PER_RECORDING, _candidate_rows
    rng = np.random.default_rng(3)
    tracks = [track(rng) for _ in range(4)]
    probs, events = [p for p, _ in tracks], [e for _, e in tracks]
    x1, y1 = _candidate_rows(probs, events, HOP, seed=0)
    # one bag draws exactly what the unbagged rows always were
    xb, yb, gb = _candidate_rows(probs, events, HOP, seed=0, bags=1, with_bags=True)
    np.testing.assert_array_equal(xb, x1)
    np.testing.assert_array_equal(yb, y1)
    assert set(np.unique(gb[~yb])) <= {0} and (gb == -1).sum() == y1.sum()
    x3, y3, g3 = _candidate_rows(probs, events, HOP, seed=0, bags=3, with_bags=True)
    assert (g3 == -1).sum() == y3.sum() == y1.sum()           # the positives, in every bag
    assert set(np.unique(g3[~y3])) == {0, 1, 2}
    for k in range(3):                                         # each bag: as many negatives as one draw
        assert (g3 == k).sum() == NEGATIVES_PER_RECORDING * len(tracks)
    neg = x3[g3 >= 0]
    assert len(np.unique(neg, axis=0)) == len(neg)             # disjoint draws: no negative twice


def test_bagged_fit_is_a_seeded_mean_and_differs_from_one_bag():
    from clinaudio_gui.engine.detector.proposal_fit import ProposalSearch, _candidate_rows, fit_scorers
    rng = np.random.default_rng(5)
    tracks = [track(rng) for _ in range(6)]
    x, y, g = _candidate_rows([p for p, _ in tracks], [e for _, e in tracks], HOP, seed=0, bags=2,
                              with_bags=True)
    a = fit_scorers(x, y, g, 2, seed=0)
    b = fit_scorers(x, y, g, 2, seed=0)
    one = fit_scorers(x[g <= 0], y[g <= 0], None, 1, seed=0)
    for kind in ("trees", "network", "trees+network"):
        np.testing.assert_array_equal(a[kind](x), b[kind](x))    # a seed reproduces exactly
        assert not np.allclose(a[kind](x), one[kind](x))
    assert a["trees"].feature.shape[0] == 200 and a["network"].hidden == 128
    assert ProposalSearch(bags=3).to_dict()["bags"] == 3 and "bags" not in ProposalSearch().to_dict()
    with pytest.raises(ValueError, match="bags"):
        ProposalSearch(bags=0)
