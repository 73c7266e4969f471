"""Test-time phase augmentation of the detector network (DetectorConfig.tta_shift): at inference
the network also runs on the input delayed by s frames and the two runs' frame logits (aligned),
record logits and embeddings are averaged; training, masked batches and tta_shift 0 are the plain
network; the setting travels in the package's architecture."""
import dataclasses

import torch

from clinaudio_gui.engine.detector.model import DetectorConfig, DetectorNet


def _net(shift: int) -> DetectorNet:
    torch.manual_seed(0)
    cfg = DetectorConfig(widths=(8, 8, 8), d_model=16, rnn_hidden=8, n_heads=2, tta_shift=shift)
    return DetectorNet(cfg).eval()


def test_tta_averages_the_plain_and_the_delayed_run():
    net = _net(1)
    x = torch.randn(2, 2, 64, 61)
    with torch.inference_mode():
        f, r, _, emb = net(x)
        plain = net._forward(x, None, False)
        xs = torch.cat([x[..., :1], x[..., :-1]], dim=-1)
        delayed = net._forward(xs, None, False)
    # the delayed run is not the plain one: the stride-2 stem sees the other phase
    assert (delayed[0][:, 1:] - plain[0][:, :-1]).abs().max() > 1e-4
    # (batch statistics do not exist in eval mode, so one batch of 4 equals two batches of 2)
    torch.testing.assert_close(f[:, :-1], 0.5 * (plain[0][:, :-1] + delayed[0][:, 1:]), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(f[:, -1], plain[0][:, -1])
    torch.testing.assert_close(r, 0.5 * (plain[1] + delayed[1]), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(emb, 0.5 * (plain[3] + delayed[3]), atol=1e-5, rtol=1e-4)
    # the sequences the event and edge heads pool are the plain run's
    with torch.inference_mode():
        seq = net(x, return_seq=True)[4]
        seq_plain = net._forward(x, None, True)[4]
    torch.testing.assert_close(seq, seq_plain, atol=1e-5, rtol=1e-4)


def test_no_tta_in_training_with_a_mask_or_shift_zero():
    net, plain_net = _net(1), _net(0)
    plain_net.load_state_dict(net.state_dict())
    x = torch.randn(1, 2, 64, 40)
    with torch.inference_mode():
        assert torch.equal(plain_net(x)[0], plain_net._forward(x, None, False)[0])
        mask = torch.ones(1, 40, dtype=torch.bool)
        torch.testing.assert_close(net(x, mask)[0], plain_net(x, mask)[0])
        assert (net(x)[0] - plain_net(x)[0]).abs().max() > 1e-4
    net.train()
    torch.manual_seed(1)
    a = net(x)[0]
    torch.manual_seed(1)
    b = net._forward(x, None, False)[0]
    assert a.shape == b.shape and torch.equal(a, b)


def test_tta_shift_travels_in_the_architecture():
    cfg = DetectorConfig(tta_shift=1)
    assert DetectorConfig.from_dict(cfg.to_dict()).tta_shift == 1
    old = {k: v for k, v in cfg.to_dict().items() if k != "tta_shift"}   # packages before session 21
    assert DetectorConfig.from_dict(old).tta_shift == 0
    assert dataclasses.replace(cfg, tta_shift=0).tta_shift == 0
