"""Batched torch forms of the dsp front-ends (STFT, mel, gammatone, Morlet CWT).

Why here and not in ``clinaudio_gui.dsp``: the layer contracts allow torch only from ``engine``
upwards, and dsp must stay importable (and fast to import) without torch. These modules take
their filter banks from the numpy specs in :mod:`clinaudio_gui.dsp` (one source of truth) and
run the same arithmetic on ``(batch, samples)`` tensors, on CPU or CUDA (register-buffer
tensors follow ``.to(device)``), so training can compute features on the fly on the GPU, and a
numpy image and a torch image of the same input agree within float32 tolerance (tested).

Each module's ``forward(x)`` returns ``(batch, freq, frames)`` dB (``ref`` 1, ``amin`` 1e-10,
no ``top_db``); ``times_s(n_samples)`` and ``freqs_hz`` describe the axes. Thread count is the
caller's business (``torch.set_num_threads``): this module never changes it.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from clinaudio_gui.dsp import cwt_spec, gammatone_spec, mel_spec, stft_spec
from clinaudio_gui.dsp._common import AMIN
from clinaudio_gui.dsp.cwt import _bank
from clinaudio_gui.dsp.spectral import FrameSpec


def _check_batch(x: torch.Tensor) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"x must be a torch.Tensor shaped (batch, samples), got {type(x).__name__}")
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[-1] == 0:
        raise ValueError(f"x has shape {tuple(x.shape)}; expected (batch, samples) with samples > 0")
    if not torch.is_floating_point(x):
        x = x.float()
    return x.float()


def _to_db(p: torch.Tensor, amin: float, ref: float) -> torch.Tensor:
    db = 10.0 * torch.log10(torch.clamp(p, min=amin))
    if ref != 1.0:
        db = db - 10.0 * float(np.log10(max(amin, ref)))
    return db


class _FramedModule(nn.Module):
    """Shared body of STFT / mel / gammatone: frame, window, |rfft|^2, weights, delay, dB."""

    def __init__(self, spec: FrameSpec, *, ref: float = 1.0, amin: float = AMIN):
        super().__init__()
        self.spec = spec
        self.ref, self.amin = float(ref), float(amin)
        self.register_buffer("window", torch.from_numpy(np.array(spec.window, np.float32)),
                             persistent=False)
        w = None if spec.weights is None else torch.from_numpy(np.array(spec.weights, np.float32))
        self.register_buffer("weights", w, persistent=False)
        if spec.delay_frames is not None:
            q = np.floor(spec.delay_frames).astype(np.int64)
            self._delay_groups = [(np.flatnonzero(q == v), int(v)) for v in np.unique(q)]
            self.register_buffer("alpha", torch.from_numpy(
                (spec.delay_frames - q).astype(np.float32))[:, None], persistent=False)
        else:
            self._delay_groups = None

    @property
    def freqs_hz(self) -> np.ndarray:
        return self.spec.freqs_hz.copy()

    def times_s(self, n_samples: int) -> np.ndarray:
        return self.spec.times_s(0, self.spec.n_frames(n_samples))

    def power(self, x: torch.Tensor) -> torch.Tensor:
        spec = self.spec
        x = _check_batch(x).to(self.window.device)
        if spec.pad:
            x = torch.nn.functional.pad(x, (spec.pad, spec.pad))
        if x.shape[-1] < spec.frame_length:
            return x.new_zeros((x.shape[0], spec.n_out, 0))
        frames = x.unfold(-1, spec.frame_length, spec.hop) * self.window  # (B, T, L)
        X = torch.fft.rfft(frames, n=spec.n_fft, dim=-1)
        p = X.real.square() + X.imag.square()                             # (B, T, bins)
        if self.weights is not None:
            p = p @ self.weights                                          # (B, T, out)
        p = p.transpose(1, 2)                                             # (B, out, T)
        if self._delay_groups is not None:
            p = self._delay(p)
        return p.contiguous()

    def _delay(self, p: torch.Tensor) -> torch.Tensor:
        d_max = self.spec.history
        n = p.shape[-1]
        ext = torch.cat([p[..., :1].expand(-1, -1, d_max), p], dim=-1)
        out = torch.empty_like(p)
        for rows, q in self._delay_groups:
            r = torch.from_numpy(rows).to(p.device)
            a0 = d_max - q
            al = self.alpha[r]
            out[:, r] = ext[:, r, a0:a0 + n] * (1 - al) + ext[:, r, a0 - 1:a0 - 1 + n] * al
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _to_db(self.power(x), self.amin, self.ref)


class TorchSTFT(_FramedModule):
    """Batched :func:`clinaudio_gui.dsp.stft_db`."""

    def __init__(self, *, sample_rate_hz, n_fft=1024, hop=256, window="hann", win_length=None,
                 center=True, ref=1.0, amin=AMIN):
        super().__init__(stft_spec(sample_rate_hz=sample_rate_hz, n_fft=n_fft, hop=hop,
                                   window=window, win_length=win_length, center=center),
                         ref=ref, amin=amin)


class TorchMel(_FramedModule):
    """Batched :func:`clinaudio_gui.dsp.mel_spectrogram_db`."""

    def __init__(self, *, sample_rate_hz, n_mels=64, n_fft=1024, hop=256, f_min_hz=0.0,
                 f_max_hz=None, window="hann", win_length=None, center=True, ref=1.0, amin=AMIN):
        super().__init__(mel_spec(sample_rate_hz=sample_rate_hz, n_mels=n_mels, n_fft=n_fft,
                                  hop=hop, f_min_hz=f_min_hz, f_max_hz=f_max_hz, window=window,
                                  win_length=win_length, center=center), ref=ref, amin=amin)


class TorchGammatone(_FramedModule):
    """Batched :func:`clinaudio_gui.dsp.gammatone_spectrogram_db`."""

    def __init__(self, *, sample_rate_hz, n_bands=64, f_min_hz=50.0, f_max_hz=None,
                 window_s=0.025, hop_s=0.010, window="hann", n_fft=None, center=False,
                 filter_delay=True, ref=1.0, amin=AMIN):
        super().__init__(gammatone_spec(sample_rate_hz=sample_rate_hz, n_bands=n_bands,
                                        f_min_hz=f_min_hz, f_max_hz=f_max_hz, window_s=window_s,
                                        hop_s=hop_s, window=window, n_fft=n_fft, center=center,
                                        filter_delay=filter_delay), ref=ref, amin=amin)


class TorchCWT(nn.Module):
    """Batched :func:`clinaudio_gui.dsp.cwt_scalogram_db` (same folded-FFT Morlet bank; the bank
    for a given input length is built once and cached per device)."""

    def __init__(self, *, sample_rate_hz, n_scales=64, f_min_hz=50.0, f_max_hz=None,
                 wavelet="morlet", hop_s=0.010, w0=5.0, ref=1.0, amin=AMIN):
        super().__init__()
        self.spec = cwt_spec(sample_rate_hz=sample_rate_hz, n_scales=n_scales, f_min_hz=f_min_hz,
                             f_max_hz=f_max_hz, hop_s=hop_s, wavelet=wavelet, w0=w0)
        self.ref, self.amin = float(ref), float(amin)
        self.register_buffer("_device_probe", torch.zeros(0), persistent=False)
        self._banks: dict = {}

    @property
    def freqs_hz(self) -> np.ndarray:
        return self.spec.freqs_hz.copy()

    def times_s(self, n_samples: int) -> np.ndarray:
        return self.spec.times_s(0, self.spec.n_frames(n_samples))

    def _bank(self, n_seg: int, device):
        key = (n_seg, str(device))
        if key not in self._banks:
            s = self.spec
            groups = _bank(s.sample_rate_hz, n_seg * s.hop, s.w0, s.scales.tobytes(), n_seg,
                           s.points.tobytes())
            self._banks[key] = [
                (torch.from_numpy(rows).to(device), M, m,
                 [(lo, torch.from_numpy(np.array(g)).to(device)) for lo, g in bands])
                for rows, M, m, bands in groups]
        return self._banks[key]

    def power(self, x: torch.Tensor) -> torch.Tensor:
        s = self.spec
        x = _check_batch(x).to(self._device_probe.device)
        B, n = x.shape
        n_out = s.n_frames(n)
        n_seg = s.segment_frames(n_out)
        left = s.context * s.hop + s.hop // 2
        x = torch.nn.functional.pad(x, (left, n_seg * s.hop - left - n))
        X = torch.fft.rfft(x, dim=-1)
        out = x.new_empty((B, s.n_out, n_seg))
        for rows, M, m, bands in self._bank(n_seg, x.device):
            folded = X.new_zeros((B, len(bands), M))
            for r, (lo, g) in enumerate(bands):
                z = X[:, lo:lo + len(g)] * g
                pos, i = lo % M, 0
                while i < z.shape[-1]:
                    take = min(M - pos, z.shape[-1] - i)
                    folded[:, r, pos:pos + take] += z[:, i:i + take]
                    i += take
                    pos = 0
            w = torch.fft.ifft(folded, dim=-1)
            p = w.real.square() + w.imag.square()
            if m > 1:
                p = p.reshape(B, len(bands), n_seg, m).mean(dim=-1)
            out[:, rows] = p
        return out[:, :, s.context:s.context + n_out].contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _to_db(self.power(x), self.amin, self.ref)


def torch_feature(kind: str, **settings) -> nn.Module:
    """The module for 'stft', 'mel', 'gammatone' or 'cwt' with that kind's settings."""
    makers = {"stft": TorchSTFT, "mel": TorchMel, "gammatone": TorchGammatone, "cwt": TorchCWT}
    if kind not in makers:
        raise ValueError(f"kind={kind!r} is not one of {', '.join(makers)}")
    return makers[kind](**settings)
