"""The boundary-weighted frame loss: weights peak at onsets / offsets and fall off with distance,
and with all weights 1 the loss is exactly the plain class-weighted cross-entropy."""
import numpy as np
import torch

from clinaudio_gui.engine.detector.model import detector_loss
from clinaudio_gui.engine.detector.train import boundary_weights


def test_weights_peak_at_changes():
    t = np.array([0] * 20 + [3] * 20 + [0] * 20)
    w = boundary_weights(t, 2.0, sigma_frames=3.0)
    assert w.shape == t.shape and w.min() >= 1.0 and w.max() <= 3.0
    assert w[19] > 2.9 and w[20] > 2.9 and w[39] > 2.9 and w[40] > 2.9   # either side of both changes
    assert w[0] < 1.001 and w[30] < 1.02 and w[59] < 1.001 and w[25] < w[21]
    assert np.all(boundary_weights(np.zeros(10, int), 2.0) == 1.0)
    assert np.all(boundary_weights(t, 0.0) == 1.0)


def test_unit_weights_equal_the_plain_loss_and_weights_change_it():
    torch.manual_seed(0)
    B, T, K = 2, 30, 8
    f, aux = torch.randn(B, T, K), [torch.randn(B, T, K), torch.randn(B, T, K)]
    rl, rt = torch.randn(B, 5), torch.tensor([0, 2])
    yt = torch.randint(0, K, (B, T))
    m = torch.ones(B, T, dtype=torch.bool)
    m[1, 25:] = False
    cw = torch.rand(K) + 0.5
    plain, _ = detector_loss(f, rl, aux, yt, rt, m, frame_weights=cw)
    ones, _ = detector_loss(f, rl, aux, yt, rt, m, frame_weights=cw, frame_loss_weights=torch.ones(B, T))
    assert torch.allclose(plain, ones, atol=1e-6)
    w = torch.ones(B, T)
    w[0, :5] = 4.0
    other, _ = detector_loss(f, rl, aux, yt, rt, m, frame_weights=cw, frame_loss_weights=w)
    assert not torch.allclose(plain, other)
