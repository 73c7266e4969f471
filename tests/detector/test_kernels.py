"""The compiled inference kernels (engine/detector/kernels.py) compute what the plain paths
compute: the bidirectional GRU as torch's nn.GRU, the trees as the numpy scorer (and so as
scikit-learn), the candidates' de-duplication as np.unique(axis=0); a detector with them gives
the same results as without; nothing of them enters the saved weights."""
import numpy as np
import pytest
import torch
from sklearn.ensemble import HistGradientBoostingClassifier

from clinaudio_gui.engine.detector import kernels
from clinaudio_gui.engine.detector.infer import Detector
from clinaudio_gui.engine.detector.proposals import ProposalScorer, candidates
from clinaudio_gui.io import read_audio

pytestmark = pytest.mark.skipif(kernels.kernels() is None, reason="numba not importable")


def test_fast_gru_equals_torch_gru_in_both_directions():
    torch.manual_seed(0)
    gru = torch.nn.GRU(24, 16, batch_first=True, bidirectional=True).eval()
    x = torch.randn(3, 97, 24)
    fast = kernels.FastBiGRU(gru)
    with torch.inference_mode():
        ref, _ = gru(x)
        out, h = fast(x)
    assert h is None and out.shape == ref.shape
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=2e-6)
    # the reverse direction really runs backwards: changing the last step changes its outputs
    # there and before, and none of the forward direction's before it
    x2 = x.clone()
    x2[:, -1] += 1.0
    with torch.inference_mode():
        out2, _ = fast(x2)
    d = np.abs(out2.numpy() - out.numpy())
    assert d[:, -1, 16:].max() > 1e-3 and d[:, -3, 16:].max() > 1e-5
    assert d[:, :-1, :16].max() == 0.0


def test_fast_gru_leaves_training_to_torch():
    gru = torch.nn.GRU(8, 4, batch_first=True, bidirectional=True)
    fast = kernels.FastBiGRU(gru)
    x = torch.randn(2, 10, 8, requires_grad=True)
    out, h = fast(x)          # gradients wanted: the wrapped GRU itself
    assert h is not None and out.requires_grad
    out.sum().backward()
    assert x.grad is not None
    with pytest.raises(ValueError, match="bidirectional"):
        kernels.FastBiGRU(torch.nn.GRU(8, 4, batch_first=True))


def test_compiled_trees_equal_the_numpy_trees_and_sklearn(monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2000, 10))
    y = (x[:, 0] * x[:, 3] + np.cos(2 * x[:, 1]) + rng.normal(0, 0.3, 2000)) > 0.3
    hgb = HistGradientBoostingClassifier(max_depth=4, max_iter=40, random_state=0).fit(x, y)
    sc = ProposalScorer.from_sklearn(hgb, 4)
    xt = rng.normal(size=(700, 10))
    xt[::50, 2] = np.nan
    fast = sc(xt)
    monkeypatch.setenv("CLINAUDIO_NO_JIT", "1")
    assert kernels.kernels() is None
    plain = sc(xt)
    np.testing.assert_allclose(fast, plain, rtol=0, atol=1e-13)
    ok = ~np.isnan(xt).any(axis=1)   # (a missing value goes left in both; scikit-learn learns a side)
    np.testing.assert_allclose(fast[ok], hgb.predict_proba(xt[ok])[:, 1], atol=1e-12)


def test_candidate_deduplication_keeps_np_unique_order():
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(8) * 0.3, size=400)
    p = np.repeat(p, 7, axis=0)[:900]           # runs of a few frames
    base = np.array([[3, 40], [100, 180], [100, 180], [850, 900]])
    c = candidates(p, 0.016, base)
    assert len(c) > 100
    np.testing.assert_array_equal(c, np.unique(c, axis=0))
    assert {tuple(r) for r in base} <= {tuple(r) for r in c}


def test_detector_with_and_without_the_kernels_gives_the_same_result(examples_dir, monkeypatch):
    f = sorted(examples_dir.glob("*.flac"))[0]
    y, sr = read_audio(f)
    fast_det = Detector()
    assert fast_det.net.fast_rnn is not None
    fast = fast_det.detect(y, sr, with_frames=True)
    monkeypatch.setenv("CLINAUDIO_NO_JIT", "1")
    plain_det = Detector()
    assert plain_det.net.fast_rnn is None
    plain = plain_det.detect(y, sr, with_frames=True)
    np.testing.assert_allclose(fast["frame_probabilities"], plain["frame_probabilities"], atol=1e-5)
    assert fast["events"] == plain["events"] and fast["record_label"] == plain["record_label"]
    assert fast["record_probabilities"] == pytest.approx(plain["record_probabilities"], abs=2e-4)
    assert not any("fast" in k for k in fast_det.net.state_dict())


def test_compiled_selection_equals_the_python_loop(monkeypatch):
    from clinaudio_gui.engine.detector.proposals import select
    rng = np.random.default_rng(9)
    a = rng.integers(0, 900, 3000)
    c = np.stack([a, a + rng.integers(5, 120, 3000)], 1)
    s = rng.random(3000)
    s[::7] = s[3]                          # ties: the stable order decides, in both
    fast = select(c, s, 0.3)
    monkeypatch.setenv("CLINAUDIO_NO_JIT", "1")
    plain = select(c, s, 0.3)
    assert fast == plain and len(fast) > 10
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(fast, fast[1:]))   # no overlap
    assert select(c, s, 1.01) == []


def test_batchnorm_folding_keeps_the_outputs():
    from clinaudio_gui.engine.detector.model import DetectorConfig, DetectorNet, fuse_batchnorm
    torch.manual_seed(1)
    net = DetectorNet(DetectorConfig(widths=(8, 8, 16), d_model=16, rnn_hidden=8)).eval()
    n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.3, 3.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    x = torch.randn(2, 2, 64, 150)
    with torch.inference_mode():
        f0, r0, aux0, e0 = net(x)
        assert fuse_batchnorm(net) == n_bn > 0
        net.with_aux = False
        f1, r1, aux1, e1 = net(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert len(aux0) == 2 and aux1 == []
    np.testing.assert_allclose(f1.numpy(), f0.numpy(), atol=2e-5)
    np.testing.assert_allclose(r1.numpy(), r0.numpy(), atol=2e-5)
