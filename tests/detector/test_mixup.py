"""engine/detector/mixup.py and detect-train --mixup: a mixed batch is lam x + (1 - lam) x[perm], the
loss is the same mixture of the product's loss on either crop's targets over the frames both cover,
mixup 0 leaves training exactly as it was, and the CLI records it (and refuses what it cannot do)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from clinaudio_gui.engine.detector.data import Recording
from clinaudio_gui.engine.detector.mixup import mix_batch, mixed_loss
from clinaudio_gui.engine.detector.model import DetectorConfig, DetectorNet, detector_loss
from clinaudio_gui.engine.detector.train import train_network

CFG = dict(widths=(4, 4, 4), d_model=8, rnn_hidden=4)


def _recs(n=8):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        T = int(rng.integers(48, 80))
        r = Recording(audio=f"r{i}.wav", patient=f"p{i % 4}", record_label="Normal", duration_s=T * 0.016,
                      events=[(0.1, 0.3, "Wheeze")])
        r.features = (3.0 + 2.0 * rng.standard_normal((2, 64, T))).astype(np.float16)
        r.target = np.where(np.arange(T) % (5 + i % 3) < 3, 1 + i % 7, 0).astype(np.int64)
        out.append(r)
    return out


def test_no_mixup_draws_nothing_and_a_mixed_batch_is_the_convex_combination():
    x = torch.randn(6, 2, 8, 10)
    rng = np.random.default_rng(3)
    y, mix = mix_batch(x, rng, 0.0)
    assert y is x and mix is None
    assert rng.random() == np.random.default_rng(3).random()          # the generator was not touched
    y, mix = mix_batch(x, np.random.default_rng(4), 1.0)
    perm, lam = mix
    assert sorted(perm.tolist()) == list(range(6)) and 0.0 < lam < 1.0
    assert torch.allclose(y, lam * x + (1 - lam) * x[perm])
    assert not torch.allclose(y, x)
    shares = [mix_batch(x, np.random.default_rng(s), 0.5)[1] is not None for s in range(400)]
    assert 0.4 < np.mean(shares) < 0.6                                # one draw per batch, prob 0.5
    with pytest.raises(ValueError, match="within 0"):
        mix_batch(x, rng, 1.5)


def test_the_mixed_loss_is_the_mixture_of_both_targets_losses_over_shared_frames():
    torch.manual_seed(0)
    B, T = 4, 12
    f, rl = torch.randn(B, T, 8), torch.randn(B, 5)
    aux = [torch.randn(B, T, 8), torch.randn(B, T, 8)]
    yt, r = torch.randint(0, 8, (B, T)), torch.tensor([0, 1, 2, 3])
    m = torch.ones(B, T, dtype=torch.bool)
    m[1, 9:] = False                                                  # crop 1 is shorter
    kw = dict(frame_weights=torch.rand(8) + 0.5, record_weights=torch.rand(5) + 0.5)
    plain, _ = mixed_loss(detector_loss, None, f, rl, aux, yt, r, m, **kw)
    assert float(plain) == pytest.approx(float(detector_loss(f, rl, aux, yt, r, m, **kw)[0]))
    perm, lam = torch.tensor([1, 0, 3, 2]), 0.3
    got, parts = mixed_loss(detector_loss, (perm, lam), f, rl, aux, yt, r, m, **kw)
    both = m & m[perm]
    assert not both[0, 9:].any()                                      # crop 0's partner ends at frame 9
    a = detector_loss(f, rl, aux, yt, r, both, **kw)
    b = detector_loss(f, rl, aux, yt[perm], r[perm], both, **kw)
    assert float(got) == pytest.approx(0.3 * float(a[0]) + 0.7 * float(b[0]), rel=1e-6)
    assert parts["record"] == pytest.approx(0.3 * a[1]["record"] + 0.7 * b[1]["record"], rel=1e-6)
    assert float(got) != pytest.approx(float(a[0]), rel=1e-3)


def test_mixup_zero_trains_exactly_as_before_and_mixup_changes_the_weights():
    recs, cfg = _recs(), DetectorConfig(**CFG)
    kw = dict(epochs=2, seed=1, crop=32, batch=4, lr=1e-2, eval_from=None, log=lambda *a: None)
    base, h0 = train_network(recs, np.arange(8), np.arange(8), cfg, **kw)
    zero, h1 = train_network(recs, np.arange(8), np.arange(8), cfg, mixup=0.0, **kw)
    mixed, h2 = train_network(recs, np.arange(8), np.arange(8), cfg, mixup=1.0, **kw)
    sb, sz, sm = base.state_dict(), zero.state_dict(), mixed.state_dict()
    assert all(torch.equal(sb[k], sz[k]) for k in sb) and h0[0]["loss"] == h1[0]["loss"]
    assert any(not torch.equal(sb[k], sm[k]) for k in sb if sb[k].is_floating_point())
    assert np.isfinite(h2[-1]["loss"])
    with pytest.raises(ValueError, match="mixup"):   # those losses' targets would not be mixed
        train_network(recs, np.arange(8), np.arange(8), cfg, mixup=0.5, edge_weight=0.5, **kw)
    with pytest.raises(ValueError, match="mixup"):
        train_network(recs, np.arange(8), np.arange(8), cfg, mixup=0.5, extra_loss=lambda *a: 0.0, **kw)


@pytest.mark.timeout(600)
def test_detect_train_records_mixup_and_refuses_bad_values(sprsound_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for j in sorted(sprsound_dir.glob("*.json"))[::100][:12]:
        os.symlink(j, data / j.name)
        os.symlink(sprsound_dir / (j.name[:-5] + ".flac"), data / (j.name[:-5] + ".flac"))
    cli = [sys.executable, "-m", "clinaudio_gui.cli", "detect-train", "--data", str(data), "--out", str(tmp_path / "o"),
           "--threads", "1", "--cache", str(tmp_path / "c")]
    p = subprocess.run(cli + ["--folds", "2", "--only-folds", "0", "--epochs", "1", "--train-only", "--widths", "4,4,4",
                              "--crop-frames", "64", "--mixup", "0.5"], capture_output=True, text=True, timeout=400)
    assert p.returncode == 0, p.stderr[-3000:]
    m = json.loads((tmp_path / "o" / "fold0" / "manifest.json").read_text())
    assert m["training"]["mixup"] == {"batch_share": 0.5, "beta_alpha": 0.4} and m["needs_retune"]
    for bad, why in ((["--mixup", "1.5"], "--mixup 1.5"), (["--mixup", "0.5", "--retune"], "--retune"),
                     (["--mixup", "0.5", "--edge-loss", "0.5"], "--edge-loss")):
        q = subprocess.run(cli[:-4] + ["--out", str(tmp_path / "bad")] + bad, capture_output=True, text=True,
                           timeout=120)
        assert q.returncode == 2 and why in q.stderr and not (tmp_path / "bad").exists()
