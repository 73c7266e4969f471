"""SE block math, generator / critic shapes, gradient penalty, and the --no-se ablation."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from clinaudio_gui.engine.gan.model import Critic, Generator, ResidualBlock, SEBlock, gradient_penalty

torch.set_num_threads(1)


def test_se_gate_in_open_unit_interval_and_rescales_channels():
    torch.manual_seed(0)
    se = SEBlock(16)
    x = torch.randn(3, 16, 8, 8) * 5
    g = se.gate(x)
    assert g.shape == (3, 16)
    assert torch.all(g > 0) and torch.all(g < 1)
    y = se(x)
    assert torch.allclose(y, x * g[:, :, None, None])
    # the squeeze is a global average: a spatial permutation leaves the gate unchanged
    perm = x[:, :, torch.randperm(8)][:, :, :, torch.randperm(8)]
    assert torch.allclose(se.gate(perm), g, atol=1e-6)


def test_residual_block_keeps_shape_and_adds_input():
    torch.manual_seed(0)
    blk = ResidualBlock(8, se=True).eval()
    x = torch.randn(2, 8, 16, 16)
    y = blk(x)
    assert y.shape == x.shape
    # zeroing the body's last BN makes the block an identity (ReLU of a ReLU-output input)
    with torch.no_grad():
        blk.body[4].weight.zero_()
        blk.body[4].bias.zero_()
    xr = torch.relu(x)
    assert torch.allclose(blk(xr), xr)


@pytest.mark.parametrize("se", [True, False])
def test_generator_and_critic_shapes_for_every_class(se):
    n_classes = 7
    G = Generator(n_classes, base_channels=32, se=se).eval()
    D = Critic(n_classes, base_channels=8)
    for c in range(n_classes):
        y = torch.full((2,), c, dtype=torch.long)
        img = G(torch.randn(2, G.z_dim), y)
        assert img.shape == (2, 1, 64, 64)
        assert torch.isfinite(img).all()
        assert D(img, y).shape == (2,)


def test_class_changes_generated_image():
    torch.manual_seed(1)
    G = Generator(3, base_channels=32).eval()
    z = torch.randn(1, G.z_dim)
    a = G(z, torch.tensor([0]))
    b = G(z, torch.tensor([2]))
    assert not torch.allclose(a, b)


def test_gradient_penalty_finite_and_zero_for_unit_gradient_critic():
    torch.manual_seed(0)
    D = Critic(4, base_channels=8)
    real, fake = torch.randn(4, 1, 64, 64), torch.randn(4, 1, 64, 64)
    y = torch.tensor([0, 1, 2, 3])
    gp = gradient_penalty(D, real, fake, y)
    assert gp.ndim == 0 and torch.isfinite(gp) and gp >= 0
    gp.backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in D.parameters())

    class Linear1(torch.nn.Module):  # ||grad|| == 1 everywhere -> penalty 0
        def forward(self, x, y):
            return x.flatten(1)[:, 0]
    assert float(gradient_penalty(Linear1(), real, fake, y)) == pytest.approx(0.0, abs=1e-9)


def test_no_se_has_no_se_parameters_and_is_smaller():
    with_se = Generator(7, base_channels=64, se=True)
    no_se = Generator(7, base_channels=64, se=False)
    assert not any(isinstance(m, SEBlock) for m in no_se.modules())
    assert not any(".se." in k for k in no_se.state_dict())
    assert sum(isinstance(m, SEBlock) for m in with_se.modules()) == 4
    n_se = sum(p.numel() for n, p in with_se.named_parameters() if ".se." in n)
    assert n_se > 0
    assert sum(p.numel() for p in with_se.parameters()) - sum(p.numel() for p in no_se.parameters()) == n_se


def test_png_writer_fallback_writes_valid_png(tmp_path):
    import struct
    import zlib
    from clinaudio_gui.engine.gan.png import write_png_grid
    imgs = np.random.default_rng(0).normal(size=(6, 16, 16)).astype(np.float32)
    p = write_png_grid(tmp_path / "g.png", imgs, 2, 3, -2, 2, scale=1, gap=1)
    data = p.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    assert (w, h) == (3 * 17 + 1, 2 * 17 + 1)
    idat_len = struct.unpack(">I", data[33:37])[0]
    raw = zlib.decompress(data[41:41 + idat_len])
    assert len(raw) == h * (1 + 3 * w)


def test_mel_features_dsp_and_librosa_agree(sprsound_dir):
    """The bundled generator's features were computed by librosa; the dsp layer must give the same."""
    from clinaudio_gui.engine.gan.data import SPRSOUND_FEATURES, mel_db
    from clinaudio_gui.io import read_audio
    y, sr = read_audio(sprsound_dir / "40638274_9.7_1_p2_1801.flac")
    assert sr == SPRSOUND_FEATURES["sample_rate_hz"]
    a = mel_db(y, dict(SPRSOUND_FEATURES, backend="librosa"))
    b = mel_db(y, SPRSOUND_FEATURES)
    assert a.shape == b.shape == (64, len(y) // 64 + 1)
    assert np.abs(a - b).max() < 0.01
