"""Compiled inference kernels of the detector (numba, which librosa already brings), each with
the plain path it replaces kept as the fallback and as the reference its tests compare with.

* ``FastBiGRU``: the network's bidirectional one-layer GRU on the CPU, one recording at a time.
  PyTorch runs a recurrence of 48 units as a dozen small tensor calls a step; at 313 steps for
  10 s that was a quarter of a detection's time. Here both directions are one compiled loop
  (``bench/detector_bench.py``, docs/benchmarks.md: the ratio is measured there).
* ``tree_log_odds``: the proposal scorer's gradient-boosted trees (proposals.ProposalScorer),
  one pass per candidate instead of numpy gathers over (candidates x trees) arrays;
  ``select_kept``: the proposal decoder's greedy selection (proposals.select) without a Python
  loop over candidates.

The compiled code is cached on disk (numba's ``cache=True``: next to this file, or in the user's
cache folder where that is read-only), so it is compiled once per installation; ``warm_up``
loads it (about a second) when a detector is loaded, not at its first recording.
``CLINAUDIO_NO_JIT=1`` (or numba missing) selects the plain paths.
"""
from __future__ import annotations

import os

import numpy as np

_KERNELS = None     # (gru, trees) compiled functions, False when unavailable


def _jit(fn):
    import numba
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except Exception:                 # no writable cache location: compile per process
        return numba.njit(cache=False, nogil=True)(fn)


def _gru_bidir(gi_f, gi_b, whh_f, whh_b, bhn_f, bhn_b, out):
    """gi_*: (T, 3H) input projections (+ the r / z hidden biases) in PyTorch's gate order r, z, n;
    whh_*: (H, 3H) the hidden weights transposed; bhn_*: (H,) the n gate's hidden bias (inside
    r * (...)); out (T, 2H)."""
    T = gi_f.shape[0]
    H = whh_f.shape[0]
    hf = np.zeros(H, np.float32)
    hb = np.zeros(H, np.float32)
    ghf = np.empty(3 * H, np.float32)
    ghb = np.empty(3 * H, np.float32)
    for s in range(T):
        tb = T - 1 - s
        ghf[:] = 0.0
        ghb[:] = 0.0
        for i in range(H):     # column by column: the inner loop over gates vectorises
            a = hf[i]
            b = hb[i]
            for j in range(3 * H):
                ghf[j] += whh_f[i, j] * a
                ghb[j] += whh_b[i, j] * b
        for i in range(H):
            r = 1.0 / (1.0 + np.exp(-(gi_f[s, i] + ghf[i])))
            z = 1.0 / (1.0 + np.exp(-(gi_f[s, H + i] + ghf[H + i])))
            n = np.tanh(gi_f[s, 2 * H + i] + r * (ghf[2 * H + i] + bhn_f[i]))
            hf[i] = np.float32(n + z * (hf[i] - n))
            out[s, i] = hf[i]
            r = 1.0 / (1.0 + np.exp(-(gi_b[tb, i] + ghb[i])))
            z = 1.0 / (1.0 + np.exp(-(gi_b[tb, H + i] + ghb[H + i])))
            n = np.tanh(gi_b[tb, 2 * H + i] + r * (ghb[2 * H + i] + bhn_b[i]))
            hb[i] = np.float32(n + z * (hb[i] - n))
            out[tb, H + i] = hb[i]


def _trees(x, feat, thr, value, out):
    """out[i] = sum over trees of the leaf value x[i] reaches (complete binary trees, breadth
    first: x[feature] > threshold goes right), as proposals.ProposalScorer defines them."""
    n = x.shape[0]
    t, m = feat.shape
    for i in range(n):
        acc = 0.0
        for j in range(t):
            k = 0
            while k < m:
                k = 2 * k + 1 + (1 if x[i, feat[j, k]] > thr[j, k] else 0)
            acc += value[j, k - m]
        out[i] = acc


def _select(starts, ends, order, scores, threshold, n, keep):
    """proposals.select's greedy loop: candidates in ``order`` (best score first) kept while their
    score >= threshold and they overlap no kept one; their indices go to ``keep``; returns how many."""
    taken = np.zeros(n + 1, np.bool_)
    m = 0
    for j in order:
        if scores[j] < threshold:
            break
        a, b = starts[j], ends[j]
        free = True
        for t in range(a, b):
            if taken[t]:
                free = False
                break
        if not free:
            continue
        for t in range(a, b):
            taken[t] = True
        keep[m] = j
        m += 1
    return m


def kernels():
    """(gru, trees, select) compiled kernels, or None when numba is missing or CLINAUDIO_NO_JIT is set."""
    global _KERNELS
    if os.environ.get("CLINAUDIO_NO_JIT", "") not in ("", "0"):
        return None
    if _KERNELS is None:
        try:
            _KERNELS = (_jit(_gru_bidir), _jit(_trees), _jit(_select))
        except Exception:             # numba not importable
            _KERNELS = False
    return _KERNELS or None


def warm_up() -> bool:
    """Compile (first time) or load (from the disk cache) the kernels now; False without them."""
    k = kernels()
    if k is None:
        return False
    z = np.zeros((2, 3), np.float32)
    k[0](z, z, np.zeros((1, 3), np.float32), np.zeros((1, 3), np.float32), np.zeros(1, np.float32),
         np.zeros(1, np.float32), np.zeros((2, 2), np.float32))
    k[1](np.zeros((1, 1)), np.zeros((1, 1), np.int64), np.zeros((1, 1)), np.zeros((1, 2)), np.zeros(1))
    select_kept(np.zeros((1, 2), np.int64), np.zeros(1), 0.5)
    return True


def select_kept(cands: np.ndarray, scores: np.ndarray, threshold: float):
    """The indices proposals.select keeps, in selection order, compiled; None without numba."""
    k = kernels()
    if k is None:
        return None
    c = np.asarray(cands, np.int64)
    order = np.argsort(-scores, kind="stable")
    keep = np.empty(len(c), np.int64)
    m = k[2](np.ascontiguousarray(c[:, 0]), np.ascontiguousarray(c[:, 1]), order,
             np.ascontiguousarray(scores, np.float64), float(threshold), int(c[:, 1].max()), keep)
    return keep[:m]


def tree_log_odds(x: np.ndarray, feature: np.ndarray, threshold: np.ndarray, value: np.ndarray):
    """Sum of the trees' leaf values per row of ``x`` (float64), compiled; None without numba."""
    k = kernels()
    if k is None:
        return None
    out = np.empty(len(x))
    k[1](np.ascontiguousarray(x, np.float64), np.ascontiguousarray(feature, np.int64),
         np.ascontiguousarray(threshold, np.float64), np.ascontiguousarray(value, np.float64), out)
    return out


class FastBiGRU:
    """Drop-in for a bidirectional, one-layer, batch-first ``nn.GRU`` at inference on the CPU:
    ``fast(x)`` -> (output (B, T, 2H), None). Anything else (gradients, another device, another
    GRU shape) goes to the wrapped GRU itself."""

    def __init__(self, gru):
        if not (gru.bidirectional and gru.num_layers == 1 and gru.batch_first and gru.bias):
            raise ValueError("FastBiGRU needs a bidirectional, one-layer, batch-first GRU with biases")
        self.gru = gru
        H = gru.hidden_size
        p = {n: t.detach().cpu().double().numpy() for n, t in gru.named_parameters()}
        self.H = H
        self.w_ih, self.b_i, self.w_hh, self.b_hn = [], [], [], []
        for sfx in ("", "_reverse"):
            b = p["bias_ih_l0" + sfx].copy()
            b[:2 * H] += p["bias_hh_l0" + sfx][:2 * H]      # r and z: the two biases simply add
            self.w_ih.append(np.ascontiguousarray(p["weight_ih_l0" + sfx].T, np.float32))
            self.b_i.append(b.astype(np.float32))
            self.w_hh.append(np.ascontiguousarray(p["weight_hh_l0" + sfx].T, np.float32))
            self.b_hn.append(np.ascontiguousarray(p["bias_hh_l0" + sfx][2 * H:], np.float32))

    def __call__(self, x):
        import torch
        k = kernels()
        if k is None or x.device.type != "cpu" or (torch.is_grad_enabled() and x.requires_grad) \
                or x.dtype != torch.float32:
            return self.gru(x)
        xs = x.detach().numpy()
        out = np.empty((x.shape[0], x.shape[1], 2 * self.H), np.float32)
        for b in range(x.shape[0]):
            gf = xs[b] @ self.w_ih[0] + self.b_i[0]
            gb = xs[b] @ self.w_ih[1] + self.b_i[1]
            k[0](gf, gb, self.w_hh[0], self.w_hh[1], self.b_hn[0], self.b_hn[1], out[b])
        return torch.from_numpy(out), None
