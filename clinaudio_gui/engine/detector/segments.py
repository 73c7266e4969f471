"""The event head: classify a given event (tasks 1-1 / 1-2, "what is this event?") from the
detector's own encoder, pooled over the event.

Averaging the frame head's class probabilities over an event (the first way, ``frames``) throws
away what the encoder knows about the event as a whole: a crackle cycle has crackles in a few
frames only, a short wheeze is diluted by the frames around it. The event head pools the
encoder sequence (32 ms) over the event (mean, max, standard deviation), adds the mean of the
0.5 s before and after (context), the mean frame probabilities and the log duration
(``segment_features``), the recording's record probabilities and each convolutional branch's
sequence pooled over the event (mean, max) (``event_features``; the inputs were chosen among
four sets on validation patients, scripts/detector_event_head_variants.py), and applies a
multinomial logistic regression (``EventHead``: a
standardisation and one linear layer, stored with the network's weights). It is fitted with
scikit-learn on the training patients' expert events (the encoder is frozen; class-balanced,
C = 0.03), its temperature and Score offsets on the inner-validation patients, and the manifest
says which of the two (``calibration.event_source``) scored higher there.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

CONTEXT_S = 0.5


def n_segment_features(d_seq: int, n_frame_classes: int) -> int:
    """Features of ``segment_features`` for a ``d_seq``-wide sequence."""
    return 4 * d_seq + n_frame_classes + 1


def n_event_features(d_main: int, d_branch: int, n_branches: int, n_frame_classes: int,
                     n_record_classes: int) -> int:
    """Features of ``event_features``."""
    return n_segment_features(d_main, n_frame_classes) + n_record_classes + n_branches * 2 * d_branch


def segment_features(seq: np.ndarray, seq_hop_s: float, frame_probs: np.ndarray, hop_s: float,
                     events) -> np.ndarray:
    """(n_events, 4 * d + K + 1) features of events ``(start_s, end_s, ...)`` from a sequence
    ``seq`` (T', d) at ``seq_hop_s`` and the calibrated frame probabilities (T, K): mean, max and
    standard deviation over the event, mean of the 0.5 s around it, mean frame probabilities,
    log duration."""
    seq = np.asarray(seq, np.float32)
    n, d = seq.shape
    ctx = int(round(CONTEXT_S / seq_hop_s))
    nf = len(frame_probs)
    out = np.zeros((len(events), n_segment_features(d, frame_probs.shape[1])), np.float32)
    for k, (s, e, *_rest) in enumerate(events):
        a = min(max(0, int(s / seq_hop_s)), n - 1)
        b = min(max(a + 1, int(np.ceil(e / seq_hop_s))), n)
        seg = seq[a:b]
        ca, cb = max(0, a - ctx), min(n, b + ctx)
        around = np.concatenate([seq[ca:a], seq[b:cb]]) if (a > ca or cb > b) else seg
        fa = min(max(0, int(s / hop_s)), nf - 1)
        fb = min(max(fa + 1, int(np.ceil(e / hop_s))), nf)
        out[k] = np.concatenate([seg.mean(0), seg.max(0), seg.std(0), around.mean(0),
                                 frame_probs[fa:fb].mean(0), [np.log(max(e - s, 0.0) + 1e-3)]])
    return out


def event_features(seq: np.ndarray, d_main: int, n_branches: int, seq_hop_s: float, frame_probs: np.ndarray,
                   hop_s: float, record_probs: np.ndarray, events) -> np.ndarray:
    """The event head's input. ``seq`` (T', d_main + n_branches * d_branch) is the network's
    ``return_seq`` output: the fused encoder sequence, then each branch's own sequence. Features:
    ``segment_features`` of the fused sequence, the recording's calibrated record probabilities
    (the context: a crackle is likelier in a DAS recording), and the mean and max of each
    branch sequence over the event."""
    seq = np.asarray(seq, np.float32)
    main = segment_features(seq[:, :d_main], seq_hop_s, frame_probs, hop_s, events)
    parts = [main, np.repeat(np.asarray(record_probs, np.float32)[None], len(events), 0)]
    d_b = (seq.shape[1] - d_main) // max(1, n_branches)
    for j in range(n_branches):
        b = seq[:, d_main + j * d_b:d_main + (j + 1) * d_b]
        parts.append(segment_features(b, seq_hop_s, frame_probs, hop_s, events)[:, :2 * d_b])
    return np.concatenate(parts, 1).astype(np.float32)


def features_for(cfg, seq: np.ndarray, frame_probs: np.ndarray, hop_s: float, record_probs: np.ndarray,
                 events) -> np.ndarray:
    """``event_features`` for a network of config ``cfg`` (a DetectorConfig) at frame hop ``hop_s``."""
    return event_features(seq, 2 * cfg.rnn_hidden, cfg.n_branches, 2 * hop_s, frame_probs, hop_s,
                          record_probs, events)


def n_features_for(cfg) -> int:
    return n_event_features(2 * cfg.rnn_hidden, cfg.d_model, cfg.n_branches, cfg.n_frame_classes,
                            cfg.n_record_classes)


class EventHead(nn.Module):
    """Standardise, then one linear layer: logits of the 7 event classes."""

    def __init__(self, n_in: int, n_classes: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_in))
        self.register_buffer("scale", torch.ones(n_in))
        self.lin = nn.Linear(n_in, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin((x - self.mean) / self.scale)

    @torch.no_grad()
    def logits(self, feats: np.ndarray) -> np.ndarray:
        if len(feats) == 0:
            return np.zeros((0, self.lin.out_features))
        x = torch.from_numpy(np.asarray(feats, np.float32)).to(self.mean.device)
        return self(x).cpu().numpy().astype(np.float64)

    @torch.no_grad()
    def fit(self, feats: np.ndarray, labels: list[str], classes: list[str], *, C: float = 0.03,
            seed: int = 0) -> dict:
        """Fit by scikit-learn's logistic regression (class-balanced); a class absent from the
        training events gets a very low bias. Returns a summary for the manifest."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler
        sc = StandardScaler().fit(feats)
        clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced", random_state=seed)
        clf.fit(sc.transform(feats), labels)
        W = np.zeros((len(classes), feats.shape[1]))
        b = np.full(len(classes), -30.0)
        if len(clf.classes_) == 2:   # binary: one coefficient row for the second class
            b[classes.index(clf.classes_[0])] = 0.0
            W[classes.index(clf.classes_[1])] = clf.coef_[0]
            b[classes.index(clf.classes_[1])] = clf.intercept_[0]
        else:
            for j, c in enumerate(clf.classes_):
                W[classes.index(c)] = clf.coef_[j]
                b[classes.index(c)] = clf.intercept_[j]
        self.mean.copy_(torch.from_numpy(sc.mean_.astype(np.float32)))
        self.scale.copy_(torch.from_numpy(np.where(sc.scale_ > 0, sc.scale_, 1.0).astype(np.float32)))
        self.lin.weight.copy_(torch.from_numpy(W.astype(np.float32)))
        self.lin.bias.copy_(torch.from_numpy(b.astype(np.float32)))
        counts = {c: int(sum(1 for x in labels if x == c)) for c in classes}
        return {"fitted_on_events": len(labels), "per_class": counts, "C": C,
                "absent_classes": [c for c in classes if counts[c] == 0]}
