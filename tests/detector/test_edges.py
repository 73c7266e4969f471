"""The edge head (onset / offset activity for the proposal decoder, edges.py): its targets, its
features for candidates, that it learns edges from an encoder sequence, that the decoder refuses
to run without it when its scorer was fitted with it, that its features let a scorer split cycles
whose frame activity runs together, and that it travels in the package."""
import numpy as np
import pytest
import torch

from clinaudio_gui.engine.detector.data import FRAME_CLASSES
from clinaudio_gui.engine.detector.decode import DecoderParams, decode
from clinaudio_gui.engine.detector.edges import (edge_inputs, edge_probs, edge_targets, fit_edge_head, upsample,
                                                 with_edge_head)
from clinaudio_gui.engine.detector.model import DetectorConfig, DetectorNet
from clinaudio_gui.engine.detector.proposals import (N_EDGE_FEATURES, ProposalScorer, _range_max, all_features,
                                                     candidates, edge_features, match_targets, n_proposal_features,
                                                     name_events, select)
from clinaudio_gui.metrics.events import event_metrics

CLASSES = FRAME_CLASSES[1:]
HOP = 0.016


def test_range_max_equals_brute_force():
    rng = np.random.default_rng(0)
    x = rng.random(1000)
    lo = rng.integers(-20, 1010, 3000)
    hi = lo + rng.integers(-5, 300, 3000)
    got = _range_max(x, lo, hi)
    want = [x[max(a, 0):min(b, 1000)].max() if min(b, 1000) > max(a, 0) else 0.0 for a, b in zip(lo, hi)]
    assert np.array_equal(got, np.array(want))


def test_edge_targets_peak_at_the_experts_edges():
    y = edge_targets([(0.64, 1.28, "Normal"), (2.0, 3.2, "Wheeze")], 200, HOP)   # 32 ms grid
    assert y.shape == (200, 2)
    assert y[20, 0] == pytest.approx(1.0) and y[40, 1] == pytest.approx(1.0)      # 0.64 s, 1.28 s
    assert y[100, 1] == pytest.approx(1.0, abs=0.05) and y[62, 0] > 0.9           # 3.2 s; 2.0 s = frame 62.5
    assert y[30].max() < 1e-3 and y[150].max() < 1e-3                            # nothing between edges
    assert np.array_equal(upsample(y, 401)[::2][:200], y) and len(upsample(y, 401)) == 401


def test_edge_features_read_the_edge_activity_at_and_inside_a_candidate():
    e = np.zeros((300, 2))
    e[100, 0] = 0.9      # an onset at frame 100
    e[108, 0] = 0.5      # a weaker one 8 frames (0.128 s) later
    e[199, 1] = 0.8      # an offset at the candidate's last frame
    e[150, 0] = 0.7      # an onset well inside: a neighbour's edge
    c = np.array([[100, 200], [104, 200], [0, 20]])
    f = edge_features(e, c, HOP)
    assert f.shape == (3, N_EDGE_FEATURES)
    # [onset at, max +-0.1 s, max +-0.2 s, offset at, max +-0.1, max +-0.2, inner onset, inner offset]
    assert f[0].tolist() == pytest.approx([0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.7, 0.0])
    assert f[1, 0] == 0.0 and f[1, 1] == pytest.approx(0.9) and f[1, 6] == pytest.approx(0.7)
    assert f[2].tolist() == pytest.approx([0.0] * 8)
    x = all_features(np.full((300, 8), 1 / 8), c, HOP, None, e)
    assert x.shape[1] == n_proposal_features(8, with_edges=True) and np.array_equal(x[:, -8:], f)


def test_decoder_fitted_with_edges_refuses_to_run_without_them():
    p = np.full((200, 8), 1 / 8)
    prm = DecoderParams(mode="proposals", proposal_threshold=0.5, proposal_edges=True,
                        scorer=lambda x: np.zeros(len(x)))
    with pytest.raises(ValueError, match="edge head"):
        decode(p, CLASSES, HOP, prm)
    with pytest.raises(ValueError, match="edge head"):
        decode(p, CLASSES, HOP, prm, edges=np.zeros((199, 2)))
    assert decode(p, CLASSES, HOP, prm, edges=np.zeros((200, 2))) == []
    # other decoders ignore them
    assert decode(p, CLASSES, HOP, DecoderParams(), edges=None) == decode(p, CLASSES, HOP, DecoderParams())


def back_to_back(rng, n=900):
    """Cycles that follow each other with no gap (as SPRSound cycles often do): the frame activity
    stays high across their boundaries, so no threshold separates them; the edge activity has a
    noisy bump at every true onset and offset."""
    p = np.zeros((n, 8))
    edges = np.zeros((n, 2))
    events, t = [], int(rng.integers(10, 40))
    t_idx = np.arange(n)
    while True:
        d = int(rng.integers(63, 112))
        if t + d >= n - 10:
            break
        events.append((t * HOP, (t + d) * HOP, "Wheeze"))
        for j, x in enumerate((t, t + d)):
            edges[:, j] = np.maximum(edges[:, j], 0.8 * np.exp(-0.5 * ((t_idx - x) / 4.0) ** 2))
        p[t:t + d, 3] = 0.9
        t += d + int(rng.integers(0, 3))
    p[:, 0] = np.where(p[:, 3] > 0, 0.05, 0.9)
    p[:, 1:] += 0.01
    p = np.clip(p + rng.normal(0, 0.02, p.shape), 1e-3, None)
    edges = np.clip(edges + rng.normal(0, 0.05, edges.shape), 0, 1)
    return p / p.sum(1, keepdims=True), edges, events


def test_edge_features_let_a_scorer_split_cycles_that_run_together():
    rng = np.random.default_rng(3)
    train = [back_to_back(rng) for _ in range(30)]
    test = [back_to_back(rng) for _ in range(10)]
    f_by = {}
    for use in (False, True):
        xs, ys = [], []
        for p, e, ev in train:
            c = candidates(p, HOP)
            xs.append(all_features(p, c, HOP, None, e if use else None))
            ys.append(match_targets(c, ev, HOP))
        sc = ProposalScorer.fit(np.concatenate(xs), np.concatenate(ys), trees=60, depth=4, seed=0)
        ref, est = {}, {}
        for k, (p, e, ev) in enumerate(test):
            c = candidates(p, HOP)
            keep = select(c, sc(all_features(p, c, HOP, None, e if use else None)), 0.5)
            ref[str(k)] = ev
            est[str(k)] = [(x["start_s"], x["end_s"], x["label"]) for x in name_events(p, CLASSES, HOP, keep, {})]
        f_by[use] = event_metrics(ref, est)["event_based"]["micro"]["f"] or 0.0
    assert f_by[True] > f_by[False] + 0.2, f_by
    assert f_by[True] > 0.6, f_by


def tiny_net() -> DetectorNet:
    torch.manual_seed(0)
    return DetectorNet(DetectorConfig(widths=(4, 4, 4), d_model=8, rnn_hidden=4)).eval()


def synthetic_sequences(rng, n_rec, d):
    """(sequences, frame probabilities, events): one sequence channel spikes at every onset,
    another at every offset, under noise; the rest is noise."""
    seqs, fps, evs = [], [], []
    for _ in range(n_rec):
        n = 300
        h = rng.normal(0, 1, (n, d)).astype(np.float32)
        ev, t = [], int(rng.integers(3, 20))
        while t + 60 < n:
            d_ev = int(rng.integers(25, 50))
            ev.append((t * 2 * HOP, (t + d_ev) * 2 * HOP, "Normal"))
            h[t, 0] += 6.0
            h[t + d_ev, 1] += 6.0
            t += d_ev + int(rng.integers(5, 20))
        seqs.append(h)
        fps.append(np.full((2 * n, 8), 1 / 8))
        evs.append(ev)
    return seqs, fps, evs


def test_fitted_edge_head_finds_the_edges_and_a_seed_reproduces_it():
    net = tiny_net()
    d = 2 * net.cfg.rnn_hidden + net.cfg.n_branches * net.cfg.d_model
    rng = np.random.default_rng(0)
    tr = synthetic_sequences(rng, 120, d)
    va = synthetic_sequences(rng, 10, d)
    te = synthetic_sequences(rng, 5, d)
    fitted, info = fit_edge_head(net, tr[0], tr[1], tr[2], va[0], va[1], va[2], HOP, epochs=15, seed=0,
                                 log=lambda m: None)
    assert 1 <= info["best_epoch"] <= 15 and len(info["validation_loss_by_epoch"]) == 15
    hits, tot = 0, 0
    for h, fp, ev in zip(*te):
        e = edge_probs(fitted, h, fp)
        assert e.shape == (len(fp), 2) and (e >= 0).all() and (e <= 1).all()
        for s, en, _ in ev:
            for j, x in enumerate((s, en)):
                k = int(round(x / HOP))
                tot += 1
                hits += e[max(0, k - 4):k + 5, j].max() > 2 * np.median(e[:, j])
    assert hits / tot > 0.85, (hits, tot)
    again, _ = fit_edge_head(net, tr[0], tr[1], tr[2], va[0], va[1], va[2], HOP, epochs=15, seed=0,
                             log=lambda m: None)
    for (k, a), b in zip(fitted.edge_head.state_dict().items(), again.edge_head.state_dict().values()):
        assert torch.equal(a, b), k
    assert edge_inputs(tr[0][0], tr[1][0]).shape == (300, d + 8)


def test_edge_head_travels_in_the_package_and_is_required_by_its_decoder(tmp_path):
    from clinaudio_gui.core.errors import ModelPackageError
    from clinaudio_gui.engine.common.package import load_model_package, save_model_package
    from clinaudio_gui.engine.detector.infer import Detector, bundled_detector_dir
    from clinaudio_gui.engine.detector.model import rebuilt
    tensors, m = load_model_package(bundled_detector_dir(), kind="detector")
    net = DetectorNet(DetectorConfig.from_dict(m["architecture"]))
    net.load_state_dict(tensors)
    if not hasattr(net, "edge_head"):
        net = with_edge_head(net)
    with torch.no_grad():
        for prm in net.edge_head.parameters():
            prm.add_(0.01)
    m = {k: v for k, v in m.items() if not k.startswith("weights") and k not in ("format", "format_version")}
    m["architecture"] = net.cfg.to_dict()
    m["decoder"] = {**m["decoder"], "mode": "proposals", "proposal_edges": True}
    save_model_package(tmp_path / "pkg", dict(net.state_dict()), m)
    det = Detector(tmp_path / "pkg")
    for k, v in net.edge_head.state_dict().items():
        assert torch.equal(det.net.edge_head.state_dict()[k], v), k
    # the same package without the head is refused at load, naming it
    bare = rebuilt(net, "edge_head.", edge_head_inputs=0, edge_head_width=0)
    m["architecture"] = bare.cfg.to_dict()
    save_model_package(tmp_path / "bare", dict(bare.state_dict()), m)
    with pytest.raises(ModelPackageError, match="edge head") as e:
        Detector(tmp_path / "bare")
    assert "bare" in str(e.value)


def test_edge_head_without_the_proposal_decoder_is_refused(tmp_path):
    import subprocess
    import sys
    p = subprocess.run([sys.executable, "-m", "clinaudio_gui.cli", "detect-train", "--data", str(tmp_path),
                        "--out", str(tmp_path / "cv"), "--retune", "--edge-head"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "--proposals" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "cv").exists()


def test_crop_edge_targets_follow_the_crop():
    from clinaudio_gui.engine.detector.edges import crop_edge_targets
    y = crop_edge_targets([[(1.0, 2.0, "Wheeze")], [(1.0, 2.0, "Wheeze")]], [0, 25], 200, HOP)
    assert y.shape == (2, 200, 2)
    step = 2 * HOP                                       # the sequence grid, 32 ms
    assert abs(int(y[0, :, 0].argmax()) - 1.0 / step) <= 1 and abs(int(y[0, :, 1].argmax()) - 2.0 / step) <= 1
    shift = 25 * HOP / step                              # 25 detector frames later: 12.5 sequence frames earlier
    assert abs(int(y[1, :, 0].argmax()) - (1.0 / step - shift)) <= 1
    assert abs(int(y[1, :, 1].argmax()) - (2.0 / step - shift)) <= 1


def marked_recordings(rng, n_rec=8, n=320):
    """Back-to-back Normal cycles (the frame target is Normal everywhere, so the frame loss alone
    never needs the boundaries), each boundary marked by a bright column in both images."""
    from clinaudio_gui.engine.detector.data import Recording
    recs = []
    for j in range(n_rec):
        x = rng.normal(0, 1, (2, 64, n)).astype(np.float32)
        ev, t = [], int(rng.integers(2, 10))
        while t + 40 < n:
            d = int(rng.integers(25, 45))
            ev.append((t * HOP, (t + d) * HOP, "Normal"))
            x[:, :, t:t + 2] += 4.0
            t += d
        r = Recording(f"r{j}.flac", f"p{j}", "Normal", n * HOP, ev)
        r.features = x.astype(np.float16)
        r.target = np.zeros(n, np.int64)
        r.target[int(round(ev[0][0] / HOP)):int(round(ev[-1][1] / HOP))] = 1     # frame class 1 = Normal
        recs.append(r)
    return recs


def _joint_edge_losses(recs, epochs=30):
    from clinaudio_gui.engine.detector.train import train_network
    cfg = DetectorConfig(widths=(4, 4, 4), d_model=8, rnn_hidden=4)
    _net, hist = train_network(recs, np.arange(len(recs)), np.zeros(0, np.int64), cfg, epochs=epochs, seed=0,
                               crop=256, batch=4, lr=1e-2, eval_from=None, log=lambda *_: None, edge_weight=1.0)
    return [h["edge_loss"] for h in hist]


def test_joint_edge_loss_trains_the_encoder_on_boundaries():
    """train_network(edge_weight=1): the edge loss is logged; its gradient reaches the
    convolutional branches (not only the head); and the encoder learns the marked boundaries: the
    loss ends far lower than on the same cycles without the marks (0.28 vs 0.59 when written)."""
    from clinaudio_gui.engine.detector.edges import joint_edge_head, joint_edge_loss
    from clinaudio_gui.engine.detector.train import _batch, train_network
    rng = np.random.default_rng(0)
    recs = marked_recordings(rng)
    cfg = DetectorConfig(widths=(4, 4, 4), d_model=8, rnn_hidden=4)
    net = DetectorNet(cfg).train()
    head = joint_edge_head(cfg)
    offs: list = []
    x, _yt, m, _r = _batch(recs, np.arange(4), 256, np.random.default_rng(1), offsets=offs)
    assert len(offs) == 4 and all(0 <= a <= 320 - 256 for a in offs)
    f, _rl, _aux, _emb, seq = net(x, m, return_seq=True)
    joint_edge_loss(head, seq, f, [recs[i].events for i in range(4)], offs, m, HOP).backward()
    g = sum(float(p.grad.abs().sum()) for p in net.branches.parameters() if p.grad is not None)
    assert g > 0
    marked = _joint_edge_losses(recs)
    for r in recs:                                   # the same cycles, the marks gone
        r.features = rng.normal(0, 1, r.features.shape).astype(np.float16)
    unmarked = _joint_edge_losses(recs)
    assert len(marked) == 30 and np.mean(marked[-3:]) < 0.7 * np.mean(unmarked[-3:]), (marked, unmarked)
    _net, hist0 = train_network(recs, np.arange(len(recs)), np.zeros(0, np.int64), cfg, epochs=1, seed=0,
                                crop=256, batch=4, eval_from=None, log=lambda *_: None)
    assert "edge_loss" not in hist0[0]


def test_a_stop_before_an_epochs_first_step_records_no_empty_epoch():
    """Stopped (or out of time) at an epoch boundary: the history has only epochs that trained,
    each with its loss and edge loss (CI once saw a time-budget run end with an empty epoch row)."""
    from clinaudio_gui.engine.detector.train import train_network
    recs = marked_recordings(np.random.default_rng(3))
    cfg = DetectorConfig(widths=(4, 4, 4), d_model=8, rnn_hidden=4)
    steps_per_epoch = -(-len(recs) // 4)
    calls = {"n": 0}

    def should_stop():           # asked once per step: true from the first step of epoch 3
        calls["n"] += 1
        return calls["n"] > 2 * (steps_per_epoch + 1)   # (+1: polled again after each epoch)
    _net, hist = train_network(recs, np.arange(len(recs)), np.zeros(0, np.int64), cfg, epochs=10, seed=0,
                               crop=256, batch=4, eval_from=None, log=lambda *_: None, edge_weight=1.0,
                               should_stop=should_stop)
    assert [h["epoch"] for h in hist] == [1, 2]
    assert all(np.isfinite(h["loss"]) and "edge_loss" in h for h in hist)
