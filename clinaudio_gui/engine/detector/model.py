"""The detector network: frame-level event activity and a record label from one encoder.

Per input image (gammatone, CWT) one convolutional branch of Inception-residual blocks
(parallel 1x1 / 3x3 / dilated 3x3 / pool paths, projected, added to the input) that pools
frequency away but keeps time at 32 ms; the two branch sequences are fused with learned weights
``softmax(alpha)`` (reported in the manifest); a bidirectional GRU and 4-head self-attention
(residual + LayerNorm) model the breathing context; then

* a frame head: 8 logits per frame (no event + the 7 SPRSound event classes; SPRSound events
  never overlap, so one softmax per frame), upsampled to the 16 ms input grid;
* a record head: attention pooling + max pooling over time -> 5 record classes (task 2-2);
* per-branch auxiliary frame heads (training only) so each branch stays a working detector and
  the fusion weighs two experts (the multi-objective loss of the classifier, applied to frames).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from clinaudio_gui.engine.common.blocks import ArchDict, InceptionResidual, conv_bn_relu as _cbr


@dataclass(frozen=True)
class DetectorConfig(ArchDict):
    n_frame_classes: int = 8
    n_record_classes: int = 5
    n_branches: int = 2
    n_bands: int = 64
    widths: tuple = (16, 32, 48)
    d_model: int = 64
    rnn_hidden: int = 48
    n_heads: int = 4
    dropout: float = 0.2
    event_head_features: int = 0   # > 0: an event head (segments.EventHead) on pooled encoder features
    proposal_trees: int = 0        # > 0: the proposal decoder's scorer (proposals.py), stored as buffers
    proposal_depth: int = 0
    proposal_mlp_inputs: int = 0   # > 0 (with proposal_mlp_hidden): the proposal decoder's network scorer
    proposal_mlp_hidden: int = 0
    edge_head_inputs: int = 0      # > 0: an onset / offset head (edges.EdgeHead) for the proposal decoder
    edge_head_width: int = 0
    tta_shift: int = 0             # > 0: at inference also run the input delayed by this many frames, average


class FreqMaxPool(nn.Module):
    """nn.MaxPool2d((2, 1)) (pairs of frequency rows, an odd last row dropped) as a reshape and a
    max: the same numbers, about 20x faster on CPU (the pooling layer took 12 of the detector's
    50 ms on a 10 s recording); no parameters, so packages are unchanged."""

    def forward(self, x):
        b, c, f, t = x.shape
        return x[:, :, :f // 2 * 2].reshape(b, c, f // 2, 2, t).amax(3)


class FrameBranch(nn.Module):
    """(B, 1, F, T) -> (B, T/2, d_model): stem with stride 2 in both axes, then blocks that pool
    frequency only."""

    def __init__(self, cfg: DetectorConfig):
        super().__init__()
        w = cfg.widths
        layers: list[nn.Module] = [_cbr(1, w[0], 3, stride=2)]
        cin = w[0]
        for c in w:
            layers += [InceptionResidual(cin, c), FreqMaxPool()]
            cin = c
        self.cnn = nn.Sequential(*layers)
        f_out = cfg.n_bands // 2 // (2 ** len(w))
        self.proj = nn.Sequential(nn.Linear(cin * f_out, cfg.d_model), nn.ReLU(inplace=True))

    def forward(self, x):
        h = self.cnn(x)                                  # (B, C, F', T')
        b, c, f, t = h.shape
        return self.proj(h.reshape(b, c * f, t).transpose(1, 2))   # (B, T', d)


class ArrayBuffers(nn.Module):
    """Named numpy arrays of fixed shapes as buffers, so they travel in the package's safetensors
    (a proposal scorer's arrays; the scorer itself runs in numpy)."""

    def __init__(self, shapes: dict):
        super().__init__()
        self._names = tuple(shapes)
        for k, (shape, dtype) in shapes.items():
            self.register_buffer(k, torch.zeros(shape, dtype=dtype))

    def arrays(self) -> dict:
        return {k: getattr(self, k).cpu().numpy() for k in self._names}

    @torch.no_grad()
    def set(self, arrays: dict) -> None:
        for k in self._names:
            buf = getattr(self, k)
            buf.copy_(torch.as_tensor(np.asarray(arrays[k]), dtype=buf.dtype).reshape(buf.shape))


def ScorerBuffers(trees: int, depth: int) -> ArrayBuffers:
    """proposals.ProposalScorer's arrays: trees as complete binary trees."""
    m = 2 ** depth - 1
    return ArrayBuffers({"feature": ((trees, m), torch.int64), "threshold": ((trees, m), torch.float64),
                         "value": ((trees, m + 1), torch.float64), "baseline": ((1,), torch.float64)})


def MLPBuffers(inputs: int, hidden: int) -> ArrayBuffers:
    """proposals.MLPScorer's arrays: standardisation, one hidden layer, a logistic output."""
    f = torch.float64
    return ArrayBuffers({"mean": ((inputs,), f), "scale": ((inputs,), f), "w1": ((inputs, hidden), f),
                         "b1": ((hidden,), f), "w2": ((hidden,), f), "b2": ((1,), f)})


EDGE_KERNEL = 5
DILATIONS = (1, 2, 4)


class EdgeHead(nn.Module):
    """The edge head (edges.py): (B, T', d_in) raw inputs (``edges.edge_inputs``) -> (B, T', 2)
    onset / offset logits; three dilated 1-D convolutions after a stored standardisation."""

    def __init__(self, d_in: int, width: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(d_in))
        self.register_buffer("scale", torch.ones(d_in))
        layers: list[nn.Module] = []
        c = d_in
        for d in DILATIONS:
            layers += [nn.Conv1d(c, width, EDGE_KERNEL, padding=d * (EDGE_KERNEL // 2), dilation=d), nn.ReLU()]
            c = width
        layers.append(nn.Conv1d(width, 2, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.mean) / self.scale
        return self.net(z.transpose(1, 2)).transpose(1, 2)


class DetectorNet(nn.Module):
    def __init__(self, cfg: DetectorConfig):
        super().__init__()
        self.cfg = cfg
        self.branches = nn.ModuleList([FrameBranch(cfg) for _ in range(cfg.n_branches)])
        self.fusion_logits = nn.Parameter(torch.zeros(cfg.n_branches))
        self.aux_heads = nn.ModuleList([nn.Linear(cfg.d_model, cfg.n_frame_classes)
                                        for _ in range(cfg.n_branches)])
        self.rnn = nn.GRU(cfg.d_model, cfg.rnn_hidden, batch_first=True, bidirectional=True)
        self.fast_rnn = None   # a plain attribute, not a module: not in the state dict
        self.with_aux = True   # False at inference (infer.Detector): the branch heads are for the loss only
        d = 2 * cfg.rnn_hidden
        self.att = nn.MultiheadAttention(d, cfg.n_heads, dropout=0.1, batch_first=True)
        self.norm = nn.LayerNorm(d)
        self.drop = nn.Dropout(cfg.dropout)
        self.frame_head = nn.Linear(d, cfg.n_frame_classes)
        self.pool_score = nn.Linear(d, 1)
        self.record_head = nn.Sequential(nn.Linear(2 * d, 64), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
                                         nn.Linear(64, cfg.n_record_classes))
        if cfg.event_head_features > 0:
            from clinaudio_gui.engine.detector.segments import EventHead
            self.event_head = EventHead(cfg.event_head_features, cfg.n_frame_classes - 1)
        if cfg.proposal_trees > 0 and cfg.proposal_depth > 0:
            self.proposal_scorer = ScorerBuffers(cfg.proposal_trees, cfg.proposal_depth)
        if cfg.proposal_mlp_inputs > 0 and cfg.proposal_mlp_hidden > 0:
            self.proposal_mlp = MLPBuffers(cfg.proposal_mlp_inputs, cfg.proposal_mlp_hidden)
        if cfg.edge_head_inputs > 0 and cfg.edge_head_width > 0:
            self.edge_head = EdgeHead(cfg.edge_head_inputs, cfg.edge_head_width)

    def fusion_weights(self) -> torch.Tensor:
        return torch.softmax(self.fusion_logits, dim=0)

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        """x (B, branches, F, T) -> (sequence (B, T', 2H), branch sequences list, T' mask)."""
        hs = [br(x[:, i:i + 1]) for i, br in enumerate(self.branches)]
        w = self.fusion_weights()
        h = sum(w[i] * hs[i] for i in range(len(hs)))
        h, _ = (self.fast_rnn or self.rnn)(h)   # fast_rnn: kernels.FastBiGRU at inference, set by infer
        kpm = None
        if mask is not None:
            m2 = mask[:, ::2][:, :h.shape[1]]
            if m2.shape[1] < h.shape[1]:
                m2 = F.pad(m2, (0, h.shape[1] - m2.shape[1]), value=False)
            kpm = ~m2
        a, _ = self.att(h, h, h, key_padding_mask=kpm, need_weights=False)
        h = self.norm(h + a)
        return h, hs, (None if kpm is None else ~kpm)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, return_seq: bool = False):
        """x: (B, branches, F, T); mask: (B, T) bool of valid frames (None: all valid).

        Returns frame logits (B, T, K), record logits (B, R), aux frame logits per branch
        (list of (B, T, K)), the pooled embedding (B, 4H); with ``return_seq`` also the sequences
        at 32 ms that the event head pools: (B, T', 2H + branches x d_model), the fused encoder
        sequence then each branch's.

        With ``cfg.tta_shift`` s > 0, in eval mode and without a mask (whole recordings), the
        network runs in one batch on x and on x delayed by s frames (the first frame repeated):
        with s = 1 the other phase of the stem's stride 2. The frame logits of the delayed run,
        moved back by s, and the record logits and embeddings are averaged with the plain run's;
        the last s frames, the aux logits and the sequences are the plain run's."""
        s = int(self.cfg.tta_shift)
        B, T = x.shape[0], x.shape[-1]
        if s <= 0 or self.training or mask is not None or T <= s:
            return self._forward(x, mask, return_seq)
        xs = torch.cat([x[..., :1].expand(*x.shape[:-1], s), x[..., :-s]], dim=-1)
        frame, record, aux, emb, *seq = self._forward(torch.cat([x, xs], dim=0), None, return_seq)
        f = frame[:B].clone()
        f[:, :T - s] = 0.5 * (frame[:B, :T - s] + frame[B:, s:])
        out = (f, 0.5 * (record[:B] + record[B:]), [a[:B] for a in aux], 0.5 * (emb[:B] + emb[B:]))
        return out + ((seq[0][:B],) if return_seq else ())

    def _forward(self, x: torch.Tensor, mask: torch.Tensor | None, return_seq: bool):
        T = x.shape[-1]
        h, hs, m2 = self.encode(x, mask)
        hd = self.drop(h)
        frame = self._up(self.frame_head(hd), T)
        aux = [self._up(head(b), T) for head, b in zip(self.aux_heads, hs)] if self.with_aux else []
        s = self.pool_score(h).squeeze(-1)
        if m2 is not None:
            s = s.masked_fill(~m2, -1e4)
        a = torch.softmax(s, dim=1)
        att_pool = (a.unsqueeze(-1) * h).sum(dim=1)
        hm = h if m2 is None else h.masked_fill(~m2.unsqueeze(-1), -1e4)
        emb = torch.cat([att_pool, hm.amax(dim=1)], dim=1)
        record = self.record_head(emb)
        if return_seq:
            return frame, record, aux, emb, torch.cat([h] + list(hs), dim=-1)
        return frame, record, aux, emb

    @staticmethod
    def _up(logits: torch.Tensor, T: int) -> torch.Tensor:
        """(B, T', K) at 32 ms -> (B, T, K) at the 16 ms input grid (linear interpolation)."""
        y = F.interpolate(logits.transpose(1, 2), scale_factor=2, mode="linear", align_corners=False)
        y = y[..., :T]
        if y.shape[-1] < T:
            y = F.pad(y, (0, T - y.shape[-1]), mode="replicate")
        return y.transpose(1, 2)


@torch.no_grad()
def fuse_batchnorm(module: nn.Module) -> int:
    """For inference only, in place: every Conv2d directly followed by a BatchNorm2d (eval mode) in
    an nn.Sequential becomes one Conv2d with the normalisation folded into its weights and bias
    (torch.nn.utils.fusion.fuse_conv_bn_eval), the BatchNorm an nn.Identity. Same outputs to about
    1e-6, fewer operations; the state dict changes, so never save a fused network. Returns the
    number of pairs fused."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    n = 0
    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            a, b = seq[i], seq[i + 1]
            if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d) and not a.training and not b.training:
                seq[i] = fuse_conv_bn_eval(a, b)
                seq[i + 1] = nn.Identity()
                n += 1
    return n


def detector_loss(frame, record, aux, frame_target, record_target, mask, *, frame_weights=None,
                  record_weights=None, aux_weight: float = 0.3, record_weight: float = 0.5,
                  frame_loss_weights=None):
    """Frame CE (class weighted, masked) + aux_weight * mean branch frame CE + record_weight * record CE.
    ``frame_loss_weights`` (B, T): per-frame weights of the frame terms (e.g. near boundaries)."""
    K = frame.shape[-1]
    m = mask.reshape(-1)
    ft = frame_target.reshape(-1)[m]

    def fce(lg):
        if frame_loss_weights is None:
            return F.cross_entropy(lg.reshape(-1, K)[m], ft, weight=frame_weights)
        per = F.cross_entropy(lg.reshape(-1, K)[m], ft, weight=frame_weights, reduction="none")
        cw = torch.ones_like(per) if frame_weights is None else frame_weights[ft]
        fw_ = frame_loss_weights.reshape(-1)[m]
        return (per * fw_).sum() / (cw * fw_).sum()

    main = fce(frame)
    aux_l = torch.stack([fce(a) for a in aux]).mean()
    rec = F.cross_entropy(record, record_target, weight=record_weights, label_smoothing=0.05)
    total = main + aux_weight * aux_l + record_weight * rec
    return total, {"frame": float(main.detach()), "aux": float(aux_l.detach()), "record": float(rec.detach())}


def rebuilt(net: DetectorNet, drop_prefix: str, **cfg_changes) -> DetectorNet:
    """A new network of ``net``'s config with ``cfg_changes`` (a head or buffers added or resized),
    holding ``net``'s state except the modules under ``drop_prefix`` (left fresh)."""
    new = DetectorNet(DetectorConfig.from_dict({**net.cfg.to_dict(), **cfg_changes}))
    state = {k: v for k, v in net.state_dict().items() if not k.startswith(drop_prefix)}
    missing, unexpected = new.load_state_dict(state, strict=False)
    if unexpected or not all(k.startswith(drop_prefix) for k in missing):
        raise RuntimeError(f"state does not fit: missing {missing}, unexpected {unexpected}")
    return new.eval()
