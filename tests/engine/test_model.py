"""Network shapes, fusion weights, loss, and the feature front end."""
import numpy as np
import torch

from clinaudio_gui.engine.common.frontend import FeatureSettings, compute_features
from clinaudio_gui.engine.classifier.model import ArchConfig, DualBranchNet, multi_objective_loss

import torch

torch.set_num_threads(1)  # this 2-core machine is shared: 1 thread is fastest under load


def test_forward_shapes_and_fusion_weights():
    torch.manual_seed(0)
    m = DualBranchNet(ArchConfig(n_classes=5))
    with torch.no_grad():
        m.fusion_logits.copy_(torch.tensor([0.3, -1.2]))
    x = torch.randn(3, 2, 64, 100)
    fused, branch, emb = m(x)
    assert fused.shape == (3, 5) and branch.shape == (2, 3, 5) and emb.shape == (3, 128)
    w = m.fusion_weights()
    assert torch.isclose(w.sum(), torch.tensor(1.0)) and (w > 0).all()
    assert torch.allclose(fused, w[0] * branch[0] + w[1] * branch[1], atol=1e-5)
    loss, main, aux = multi_objective_loss(fused, branch, torch.tensor([0, 4, 2]))
    loss.backward()
    assert m.fusion_logits.grad is not None and torch.isfinite(loss)
    # variable length input works (records have different durations)
    m.eval()
    assert m(torch.randn(1, 2, 64, 37))[0].shape == (1, 5)


def test_features_are_two_standardised_images():
    rng = np.random.default_rng(0)
    sr = 8000
    t = np.arange(2 * sr) / sr
    y = (0.1 * np.sin(2 * np.pi * 400 * t) + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
    s = FeatureSettings(hop_s=0.016)
    f = compute_features(y, s)
    assert f.shape == (2, 64, 126) and f.dtype == np.float32
    assert np.allclose(f.mean(axis=(1, 2)), 0, atol=1e-4) and np.allclose(f.std(axis=(1, 2)), 1, atol=1e-3)
    # the 400 Hz tone is the brightest band in both images
    from clinaudio_gui.engine.common.frontend import erb_space
    gt_band = int(np.argmin(abs(erb_space(50, 3800, 64) - 400)))
    cwt_band = int(np.argmin(abs(np.geomspace(50, 3800, 64) - 400)))
    assert abs(int(f[0].mean(axis=1).argmax()) - gt_band) <= 1
    assert abs(int(f[1].mean(axis=1).argmax()) - cwt_band) <= 1


def test_dsp_images_agree_with_engine_numpy_version(sprsound_dir):
    import soundfile as sf
    from clinaudio_gui.engine.common.frontend import compute_features_numpy
    y, sr = sf.read(str(sprsound_dir / "40138127_14.7_0_p1_137.flac"), dtype="float32")
    s = FeatureSettings(hop_s=0.032)
    a, b = compute_features(y[: 5 * sr], s), compute_features_numpy(y[: 5 * sr], s)
    t = min(a.shape[2], b.shape[2])
    assert abs(a.shape[2] - b.shape[2]) <= 1
    for k in range(2):
        assert np.corrcoef(a[k, :, :t].ravel(), b[k, :, :t].ravel())[0, 1] > 0.95
