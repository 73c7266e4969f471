"""The audition vocoder (engine/gan/vocoder.py): Griffin-Lim refined by gradient descent towards the mel."""
from __future__ import annotations

import json

import numpy as np
import pytest

from clinaudio_gui.engine.gan.data import mel_db, mel_db_to_audio
from clinaudio_gui.engine.gan.vocoder import refine, torch_mel_db, _mel_basis

FEAT = {"sample_rate_hz": 8000, "n_fft": 256, "hop": 64, "n_mels": 64, "f_min_hz": 50.0, "f_max_hz": 4000.0,
        "frames": 64, "top_db": 80.0}


def _lung_like(seed: int = 0, n: int = 63 * 64) -> np.ndarray:
    """Breath-like band noise with a swelling envelope and a 400 Hz wheeze-like tone in its middle."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 8000
    noise = np.convolve(rng.standard_normal(n), np.hanning(9), mode="same")
    env = np.sin(np.pi * t / t[-1]) ** 2
    tone = np.where((t > 0.15) & (t < 0.35), 0.3 * np.sin(2 * np.pi * 400 * t), 0.0)
    return (0.05 * env * noise + 0.05 * tone).astype(np.float32)


def _distance(target: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    m2 = mel_db(y, FEAT)[:, :target.shape[1]]
    p, p2 = 10 ** (target / 10), 10 ** (m2 / 10)
    sc = float(np.linalg.norm(np.sqrt(p) - np.sqrt(p2)) / np.linalg.norm(np.sqrt(p)))
    live = target > -80 + 1e-3
    return sc, float(np.sqrt(np.mean((target[live] - m2[live]) ** 2)))


def test_torch_mel_equals_the_feature_front_end():
    import torch
    y = _lung_like(1)
    d, _ = torch_mel_db(torch.from_numpy(y), FEAT, torch.from_numpy(_mel_basis(FEAT)),
                        torch.hann_window(256, periodic=True))
    ref = mel_db(y, FEAT)
    assert d.shape[1] == ref.shape[1]
    assert np.abs(d.numpy() - ref).max() < 0.01


def test_refinement_comes_closer_to_the_mel_than_griffin_lim():
    target = mel_db(_lung_like(2), FEAT)[:, :64]
    gl = mel_db_to_audio(target, FEAT, n_iter=100, peak=False)
    sc0, lsd0 = _distance(target, gl)
    y = refine(gl, target, FEAT)
    sc1, lsd1 = _distance(target, y)
    assert len(y) == 63 * 64 and np.isfinite(y).all()
    assert sc1 < 0.9 * sc0 and lsd1 < 0.9 * lsd0, (sc0, sc1, lsd0, lsd1)


def test_refinement_is_deterministic_and_zero_steps_is_the_input():
    target = mel_db(_lung_like(3), FEAT)[:, :64]
    gl = mel_db_to_audio(target, FEAT, n_iter=20, peak=False)
    a, b = refine(gl, target, FEAT, steps=30), refine(gl, target, FEAT, steps=30)
    assert np.array_equal(a, b)
    assert np.array_equal(refine(gl, target, FEAT, steps=0), gl[:63 * 64])
    assert not np.array_equal(a, gl[:63 * 64])


def test_sampler_to_audio_vocoders(tiny_gan):
    from clinaudio_gui.engine.gan.sampler import GanSampler
    s = GanSampler.load(tiny_gan)
    img = s.sample(s.classes[0], 1, seed=0)[0]
    gl = s.to_audio(img, vocoder="griffin-lim")
    assert np.array_equal(gl, mel_db_to_audio(img, s.features, n_iter=100, momentum=0.99))
    ref = s.to_audio(img)
    assert np.abs(ref).max() <= 0.99 + 1e-6 and not np.array_equal(ref[:len(gl)], gl[:len(ref)])
    with pytest.raises(ValueError, match="vocoder"):
        s.to_audio(img, vocoder="wavenet")


def test_cli_sample_records_the_vocoder(tiny_gan, tmp_path):
    from clinaudio_gui.cli import main as cli_main
    out = tmp_path / "gl"
    assert cli_main(["gan", "sample", "--model", str(tiny_gan), "--label", "Normal", "-n", "1", "--out", str(out),
                     "--audio", "--vocoder", "griffin-lim"]) == 0
    assert json.loads((out / "labels.json").read_text())["vocoder"] == "griffin-lim"
    out2 = tmp_path / "ref"
    assert cli_main(["gan", "sample", "--model", str(tiny_gan), "--label", "Normal", "-n", "1", "--out", str(out2),
                     "--audio"]) == 0
    assert json.loads((out2 / "labels.json").read_text())["vocoder"] == "refined"
