"""The edge head: per frame, P(an expert event starts here) and P(an expert event ends here),
from the frozen encoder, as evidence for the proposal decoder (proposals.py).

The proposal scorer judges a candidate event by the frame probabilities around its edges; those
come from a head trained to name frames, not to place boundaries, and the experts' boundaries are
breathing-cycle edges that one threshold misses. The edge head is a small temporal network
(three dilated 1-D convolutions, receptive field +-0.45 s) on the encoder's sequence (the fused
sequence and each branch's, 32 ms, as the event head pools) and the frame probabilities, fitted
on the **training** patients with the encoder frozen: binary cross-entropy against Gaussian
targets (sigma 64 ms) at every expert onset and offset, Normal cycles included; the epoch is
kept by the same loss on the inner-validation patients. Its output (upsampled to 16 ms) gives
each proposal candidate 8 more features (``proposals.edge_features``). Chosen on fold 0's
inner-validation patients only (``scripts/detector_edge_analysis.py``: validation event F of the
trees 0.301 -> 0.359; with frame probabilities alone as inputs 0.328). It travels in the
package's safetensors (``edge_head.*``, sized by ``DetectorConfig.edge_head_inputs`` /
``edge_head_width``).
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from clinaudio_gui.engine.detector.model import DILATIONS, EdgeHead, rebuilt  # noqa: F401 (EdgeHead re-exported)

SEQ_HOP = 2            # sequence frames are 2 detector frames (32 ms)
SIGMA_S = 0.064        # target width
WIDTH = 64
EPOCHS = 25
BATCH = 16
LR = 2e-3


def n_edge_inputs(cfg) -> int:
    return 2 * cfg.rnn_hidden + cfg.n_branches * cfg.d_model + cfg.n_frame_classes


def edge_inputs(seq: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """(T', d) sequence (32 ms) and the (T, K) frame probabilities averaged onto its grid."""
    n = len(seq)
    f = np.asarray(fp, np.float64)[: SEQ_HOP * n]
    if len(f) < SEQ_HOP * n:
        f = np.vstack([f, np.repeat(f[-1:], SEQ_HOP * n - len(f), 0)])
    return np.concatenate([np.asarray(seq, np.float32), f.reshape(n, SEQ_HOP, -1).mean(1)], axis=1).astype(np.float32)


def edge_targets(events, n: int, hop_s: float) -> np.ndarray:
    """(n, 2) Gaussian bumps at every event's onset (column 0) and offset (column 1)."""
    t = np.arange(n, dtype=np.float64)
    y = np.zeros((n, 2), np.float32)
    sig = SIGMA_S / (hop_s * SEQ_HOP)
    for s, e, *_ in events:
        for j, x in enumerate((s, e)):
            c = x / (hop_s * SEQ_HOP)
            y[:, j] = np.maximum(y[:, j], np.exp(-0.5 * ((t - c) / sig) ** 2))
    return y


def upsample(e32: np.ndarray, n: int) -> np.ndarray:
    """The 32 ms edge activity repeated onto the n frames of the 16 ms grid."""
    e = np.repeat(np.asarray(e32, np.float64), SEQ_HOP, axis=0)[:n]
    if len(e) < n:
        e = np.vstack([e, np.repeat(e[-1:] if len(e) else np.zeros((1, 2)), n - len(e), 0)])
    return e


@torch.no_grad()
def edge_probs(net, seq: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """(len(fp), 2) onset / offset probabilities at 16 ms of one block or recording."""
    head = net.edge_head
    x = torch.from_numpy(edge_inputs(seq, fp))[None].to(head.mean.device)
    return upsample(torch.sigmoid(head(x))[0].cpu().numpy(), len(fp))


def crop_edge_targets(events_list, offsets, n: int, hop_s: float) -> np.ndarray:
    """(B, n, 2) ``edge_targets`` of training crops: crop b starts ``offsets[b]`` detector frames
    into a recording whose events are ``events_list[b]``."""
    return np.stack([edge_targets([(s - a * hop_s, e - a * hop_s) for s, e, *_ in ev], n, hop_s)
                     for ev, a in zip(events_list, offsets)])


def joint_edge_head(cfg) -> EdgeHead:
    """An edge head trained together with the network (``train_network(edge_weight=...)``): an
    auxiliary objective through which the encoder itself learns where the experts' events begin and
    end. Identity standardisation; not packaged: the search of training still fits the packaged
    edge head on the frozen encoder afterwards (``fit_edge_head``)."""
    return EdgeHead(n_edge_inputs(cfg), WIDTH)


def joint_edge_loss(head: EdgeHead, seq: torch.Tensor, frame_logits: torch.Tensor, events_list, offsets,
                    mask: torch.Tensor, hop_s: float) -> torch.Tensor:
    """Masked binary cross-entropy of ``head`` on the network's sequence ``seq`` (B, T', d) and its
    (detached) frame probabilities against the crops' onset / offset bumps (``crop_edge_targets``);
    the gradient reaches the encoder through ``seq``."""
    b, n, _ = seq.shape
    p = torch.softmax(frame_logits.detach(), -1)
    need = SEQ_HOP * n
    if p.shape[1] < need:
        p = torch.cat([p, p[:, -1:].expand(-1, need - p.shape[1], -1)], 1)
    p = p[:, :need].reshape(b, n, SEQ_HOP, -1).mean(2)
    z = head(torch.cat([seq, p], -1))
    y = torch.from_numpy(crop_edge_targets(events_list, offsets, n, hop_s)).to(z.device)
    m = mask[:, ::SEQ_HOP][:, :n].float()
    if m.shape[1] < n:
        m = torch.cat([m, torch.zeros(b, n - m.shape[1], device=m.device)], 1)
    per = nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none")
    return (per * m[..., None]).sum() / (2 * m.sum().clamp(min=1.0))


def with_edge_head(net):
    """The same network with an (unfitted) edge head of the current input size."""
    return rebuilt(net, "edge_head.", edge_head_inputs=n_edge_inputs(net.cfg), edge_head_width=WIDTH)


def fit_edge_head(net, tr_seqs, tr_p, tr_events, va_seqs, va_p, va_events, hop_s: float, *,
                  epochs: int = EPOCHS, seed: int = 0, log=print):
    """(network with a fitted edge head, summary). Fitted on the training recordings' expert
    edges (sequences ``*_seqs`` and calibrated frame probabilities ``*_p`` of the frozen network),
    the epoch kept by the validation recordings' loss."""
    t0 = time.time()
    net = with_edge_head(net)
    head = net.edge_head
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    for mod in head.net:
        if isinstance(mod, nn.Conv1d):
            mod.reset_parameters()
    xs = [edge_inputs(h, fp) for h, fp in zip(tr_seqs, tr_p)]
    ys = [edge_targets(ev, len(x), hop_s) for x, ev in zip(xs, tr_events)]
    xv = [edge_inputs(h, fp) for h, fp in zip(va_seqs, va_p)]
    yv = [edge_targets(ev, len(x), hop_s) for x, ev in zip(xv, va_events)]
    allx = np.concatenate(xs).astype(np.float64)
    head.mean.copy_(torch.from_numpy(allx.mean(0)).float())
    head.scale.copy_(torch.from_numpy(allx.std(0) + 1e-6).float())
    del allx

    def batch(X, Y, ids):
        T = max(len(X[i]) for i in ids)
        xb = np.zeros((len(ids), T, X[0].shape[1]), np.float32)
        yb = np.zeros((len(ids), T, 2), np.float32)
        mb = np.zeros((len(ids), T, 1), np.float32)
        for k, i in enumerate(ids):
            xb[k, :len(X[i])] = X[i]
            xb[k, len(X[i]):] = head.mean.numpy()   # padding = the mean input (0 after standardising)
            yb[k, :len(X[i])] = Y[i]
            mb[k, :len(X[i])] = 1
        return torch.from_numpy(xb), torch.from_numpy(yb), torch.from_numpy(mb)

    def loss_of(xb, yb, mb):
        per = nn.functional.binary_cross_entropy_with_logits(head(xb), yb, reduction="none")
        return (per * mb).sum() / (2 * mb.sum())

    def val_loss() -> float:
        head.eval()
        tot, cnt = 0.0, 0.0
        with torch.no_grad():
            for s in range(0, len(xv), 32):
                xb, yb, mb = batch(xv, yv, list(range(s, min(len(xv), s + 32))))
                tot += float(loss_of(xb, yb, mb)) * float(mb.sum())
                cnt += float(mb.sum())
        head.train()
        return tot / max(cnt, 1.0)

    opt = torch.optim.AdamW(head.net.parameters(), LR, weight_decay=1e-3)
    history, best, state = [], float("inf"), None
    head.train()
    for ep in range(epochs):
        order = torch.randperm(len(xs), generator=g).numpy()
        for s in range(0, len(order), BATCH):
            loss = loss_of(*batch(xs, ys, order[s:s + BATCH]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        v = val_loss()
        history.append(round(v, 5))
        if v < best:
            best, state = v, {k: t.clone() for k, t in head.state_dict().items()}
    head.load_state_dict(state)
    net.eval()
    best_ep = int(np.argmin(history)) + 1
    log(f"  edge head: validation loss {best:.4f} at epoch {best_ep} of {epochs} ({time.time() - t0:.0f} s)")
    return net, {"epochs": epochs, "best_epoch": best_ep, "validation_loss": round(best, 5),
                 "validation_loss_by_epoch": history, "width": WIDTH, "dilations": list(DILATIONS),
                 "sigma_s": SIGMA_S, "seed": seed}
