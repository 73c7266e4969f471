"""Running a detector package on recordings of any length, and on a live stream.

A recording is processed in blocks of at most ``max_frames`` frames (16.4 s at 16 ms): a
recording that fits (every SPRSound recording) is one block, exactly as in training; a longer
one is read block by block from the file (hop ``hop_frames``; each block keeps its central half,
the first and last keep their outer edges), so memory stays flat on hour-long files. Each block
gets its own quality check and image standardisation. Output: calibrated frame probabilities,
decoded events, the record label (head or decoded events, as the manifest says) with
calibrated per-class probabilities, and the quality verdict. When the quality gate fails, no
adventitious event and no record label other than "Poor Quality" is given; the same when the signal
passes but the decoder finds no event at all, not even a breathing cycle (quality "no breathing
cycle found").
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from clinaudio_gui.core.errors import ClinAudioError, ModelPackageError
from clinaudio_gui.dsp.quality import OK, assess_quality
from clinaudio_gui.engine.common.frontend import FeatureSettings, compute_features
from clinaudio_gui.engine.common.package import load_model_package, models_root
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.decode import decode
from clinaudio_gui.engine.detector.model import DetectorConfig, DetectorNet, fuse_batchnorm
from clinaudio_gui.engine.detector.proposal_fit import decoder_params

BUNDLED_NAME = "detector-sprsound"
POOR = "Poor Quality"


def bundled_detector_dir() -> Path:
    return models_root() / BUNDLED_NAME


class Detector:
    """A loaded detector package. ``detect`` works on samples, ``detect_file`` on a file."""

    def __init__(self, model_dir: str | Path | None = None, *, device: str = "cpu"):
        self.model_dir = Path(model_dir) if model_dir else bundled_detector_dir()
        tensors, m = load_model_package(self.model_dir, kind="detector")
        self.manifest = m
        self.cfg = DetectorConfig.from_dict(m["architecture"])
        self.net = DetectorNet(self.cfg)
        try:
            self.net.load_state_dict(tensors)
        except RuntimeError as e:
            raise ModelPackageError(f"weights do not fit the architecture: {str(e)[:200]}",
                                    path=self.model_dir) from None
        self.device = torch.device(device)
        self.net.to(self.device).eval()
        self.net.with_aux = False            # inference: no branch heads, BatchNorm folded into the convolutions
        fuse_batchnorm(self.net)
        if self.device.type == "cpu":   # the compiled GRU (kernels.py), loaded now, not at the first recording
            from clinaudio_gui.engine.detector import kernels
            if kernels.warm_up():
                self.net.fast_rnn = kernels.FastBiGRU(self.net.rnn)
        self.settings = FeatureSettings.from_dict(m["features"])
        self.sr = int(self.settings.sample_rate_hz)
        self.hop_s = float(self.settings.hop_s)
        self.hop_samples = int(round(self.hop_s * self.sr))
        self.event_classes = list(m["event_classes"])
        self.record_classes = list(m["record_classes"])
        cal = m.get("calibration", {})
        self.t_frame = float(cal.get("t_frame", 1.0))
        self.t_record = float(cal.get("t_record", 1.0))
        self.record_offsets = np.asarray(cal.get("offsets", {}).get("2-2", np.zeros(len(self.record_classes))))
        self.decoder = decoder_params(self.net, m.get("decoder", {}))
        if self.decoder.mode == "proposals" and self.decoder.scorer is None:
            raise ModelPackageError("the manifest's decoder is 'proposals' but the weights hold no proposal "
                                    "scorer (architecture.proposal_trees and proposal_mlp_inputs are 0)",
                                    path=self.model_dir)
        self.has_edges = self.decoder.needs_edges
        if self.has_edges and not hasattr(self.net, "edge_head"):
            raise ModelPackageError("the manifest's decoder uses the edge head (proposal_edges) but the weights "
                                    "hold none (architecture.edge_head_inputs is 0)", path=self.model_dir)
        self.record_source = m.get("record_source", "head")
        self.t_event = float(cal.get("t_event", 1.0))
        self.event_blend = float(cal.get("event_blend", 1.0))
        self.event_source = cal.get("event_source", "frames") if hasattr(self.net, "event_head") else "frames"
        w = m.get("window", {})
        self.max_frames = int(w.get("max_frames", 1024))
        self.block_hop_frames = int(w.get("hop_frames", self.max_frames // 2))

    @property
    def version(self) -> str:
        return f"{self.manifest.get('name', self.model_dir.name)}@{str(self.manifest['weights_sha256'])[:8]}"

    # ---- the network on one block -------------------------------------------------------
    @torch.inference_mode()
    def _block(self, y: np.ndarray, with_seq: bool = False) -> tuple:
        """(calibrated frame probabilities (T, 1 + K), record logits (R,), pooled embedding,
        with ``with_seq`` the sequences the event head pools (T', d) at 2 x hop, else None, and
        the edge head's onset / offset activity (T, 2) when the decoder uses it, else None) of
        one block at self.sr."""
        feats = compute_features(y, self.settings)
        x = torch.from_numpy(feats)[None].to(self.device)
        f, r, _, emb, *h = self.net(x, return_seq=with_seq or self.has_edges)
        n = int(np.ceil(len(y) / self.hop_samples))
        fp = S.softmax(f[0].cpu().numpy().astype(np.float64) / self.t_frame)[:n]
        seq = h[0][0].cpu().numpy() if h else None
        edges = None
        if self.has_edges:
            from clinaudio_gui.engine.detector.edges import edge_probs
            edges = edge_probs(self.net, seq, fp)
        return (fp, r[0].cpu().numpy().astype(np.float64), emb[0].cpu().numpy().astype(np.float64),
                seq if with_seq else None, edges)

    def _finish(self, frame_probs: np.ndarray, record_logits: np.ndarray, quality, duration_s: float,
                edges: np.ndarray | None = None) -> dict:
        events = decode(frame_probs, self.event_classes, self.hop_s, self.decoder, edges=edges)
        rp = S.softmax(record_logits / self.t_record)
        lp = np.log(np.clip(rp, 1e-9, 1)) + self.record_offsets
        if self.record_source == "events":
            label = S.record_from_events(events, bool(np.argmax(rp) == self.record_classes.index(POOR)))
        else:
            label = self.record_classes[int(np.argmax(lp))]
        if quality.ok and not events:
            # The signal passed, yet the decoder found no event, not even a Normal breathing cycle
            # (SPRSound labels every one): whatever is there, it is not lung sound the model knows
            # (helicopters, barks, other stethoscopes' recordings). Its record head would still
            # name a class; no label is given instead (docs/rules/session20_breath_evidence.txt).
            quality = replace(quality, status=S.NO_CYCLE)
        if not quality.ok:
            # No block passed the gate: the record head's output was discarded (with no logits the
            # softmax would read a uniform 0.20 "guess"). The answer is the gate's, and says so.
            events, label = [], POOR
            rp = (np.array(self.record_classes) == POOR).astype(np.float64)
        elif label == POOR:
            events = [e for e in events if e["label"] == "Normal"]
        return {
            "duration_s": round(float(duration_s), 4),
            "record_label": label,
            "record_probabilities": {c: round(float(p), 4) for c, p in zip(self.record_classes, rp)},
            "quality": quality.status,
            "quality_measures": quality.to_dict(),
            "events": events,
            "model": self.version,
        }

    # ---- whole recordings ---------------------------------------------------------------
    def detect(self, y: np.ndarray, sample_rate_hz: int, *, with_frames: bool = False,
               with_embedding: bool = False, with_sequence: bool = False) -> dict:
        """Detect on samples in memory (mono float; resampled to the model's rate if needed)."""
        y = np.asarray(y, np.float32)
        if y.ndim == 2:
            y = y.mean(axis=1)
        if sample_rate_hz != self.sr:
            from clinaudio_gui.io.audio import resample
            y = resample(y, orig_sr=int(sample_rate_hz), target_sr=self.sr)
        blocks = self._blocks_of_array(y)
        return self._run_blocks(blocks, len(y), with_frames=with_frames, with_embedding=with_embedding,
                                with_sequence=with_sequence)

    def detect_file(self, path: str | Path, *, with_frames: bool = False, with_embedding: bool = False,
                    with_sequence: bool = False) -> dict:
        """Detect on a file, reading block by block (memory flat on hour-long files)."""
        from clinaudio_gui.io.audio import audio_info, read_audio
        info = audio_info(path)
        sr_file = int(info["sample_rate_hz"])
        n_file = int(info["frames"])
        if n_file == 0:
            raise ClinAudioError("empty audio (0 samples)", path=path)
        dur = n_file / sr_file
        block_s = self.max_frames * self.hop_s
        hop_s = self.block_hop_frames * self.hop_s

        def gen():
            if dur <= block_s:
                y, _ = read_audio(path, target_sr=self.sr)
                yield 0, y
                return
            start = 0.0
            while True:
                y, _ = read_audio(path, start_s=start, end_s=min(dur, start + block_s), target_sr=self.sr)
                yield int(round(start / self.hop_s)), y
                if start + block_s >= dur:
                    return
                start += hop_s

        res = self._run_blocks(gen(), int(round(dur * self.sr)), with_frames=with_frames,
                               with_embedding=with_embedding, with_sequence=with_sequence)
        res["audio"] = str(path)
        return res

    def _blocks_of_array(self, y: np.ndarray):
        L = self.max_frames * self.hop_samples
        if len(y) <= L:
            yield 0, y
            return
        H = self.block_hop_frames * self.hop_samples
        s = 0
        while True:
            yield s // self.hop_samples, y[s:s + L]
            if s + L >= len(y):
                return
            s += H

    def _run_blocks(self, blocks, n_samples: int, *, with_frames: bool, with_embedding: bool = False,
                    with_sequence: bool = False) -> dict:
        n_frames = max(1, int(np.ceil(n_samples / self.hop_samples)))
        probs = np.zeros((n_frames, 1 + len(self.event_classes)))
        probs[:, 0] = 1.0
        d_seq = 2 * self.cfg.rnn_hidden + self.cfg.n_branches * self.cfg.d_model
        seq = np.zeros(((n_frames + 1) // 2, d_seq), np.float32) if with_sequence else None
        edges = np.zeros((n_frames, 2)) if self.has_edges else None
        rec_logits, weights, reports, embs = [], [], [], []
        margin = (self.max_frames - self.block_hop_frames) // 2
        for start_f, y in blocks:
            if len(y) < 64:
                continue
            q = assess_quality(y, self.sr)
            reports.append(q)
            fp, rl, emb, h, eb = self._block(y, with_seq=seq is not None)
            first = start_f == 0
            last = start_f + len(fp) >= n_frames
            a = 0 if first else margin
            b = len(fp) if last else len(fp) - margin
            b = min(b, n_frames - start_f)   # a resampled block may be a sample or two longer
            if q.ok and b > a:
                probs[start_f + a:start_f + b] = fp[a:b]
                if edges is not None:
                    edges[start_f + a:start_f + b] = eb[a:b]
                if seq is not None:   # 32 ms grid; block starts and margins are even frame counts
                    a2, b2 = a // 2, min(len(h), (b + 1) // 2, len(seq) - start_f // 2)
                    seq[start_f // 2 + a2:start_f // 2 + b2] = h[a2:b2]
                rec_logits.append(rl)
                embs.append(emb)
                weights.append(len(y))
        if not reports:
            raise ValueError(f"audio too short to analyse ({n_samples} samples at {self.sr} Hz)")
        good = [r for r in reports if r.ok]
        quality = good[0] if good else reports[0]
        rl = np.average(np.array(rec_logits), axis=0, weights=weights) if rec_logits else \
            np.zeros(len(self.record_classes))
        res = self._finish(probs, rl, quality, n_samples / self.sr, edges)
        if len(reports) > 1:
            res["quality_blocks"] = {"ok": len(good), "total": len(reports)}
        if with_embedding:   # the record head's input (attention + max pooling), averaged over blocks
            res["embedding"] = (np.average(np.array(embs), axis=0, weights=weights) if embs
                                else np.zeros(4 * self.cfg.rnn_hidden)).round(5).tolist()
        if with_frames:
            res["frame_probabilities"] = probs
            if edges is not None:
                res["edge_probabilities"] = edges
            res["hop_s"] = self.hop_s
        if seq is not None:   # the event head's inputs (record probabilities unrounded, as in training)
            res["sequence"] = seq
            res["record_probabilities_exact"] = S.softmax(rl / self.t_record)
        return res

    def event_probabilities(self, result: dict, events) -> np.ndarray:
        """(n_events, K) class probabilities of given events ``(start_s, end_s, ...)`` of a
        recording (task 1-1 / 1-2: "what is this event?") from a ``detect`` result made with
        ``with_frames=True`` (and ``with_sequence=True`` for the event head): the event head's
        temperature-scaled probabilities when the package has one and chose it on validation
        (blended with the frame average by the weight chosen there), else the mean frame
        probabilities over each event."""
        fp = result["frame_probabilities"]
        if self.event_source == "head":
            if "sequence" not in result:
                raise ValueError("event_probabilities needs detect(..., with_sequence=True) with this model")
            from clinaudio_gui.engine.detector.segments import features_for
            rp = result["record_probabilities_exact"]
            from clinaudio_gui.engine.detector.event_fit import blend
            z = self.net.event_head.logits(features_for(self.cfg, result["sequence"], fp, self.hop_s, rp, events))
            return blend(S.softmax(z / self.t_event), S.event_class_probs(fp, events, self.hop_s), self.event_blend)
        return S.event_class_probs(fp, events, self.hop_s)


def load_detector(model_dir: str | Path | None = None, *, device: str = "cpu") -> Detector:
    d = Path(model_dir) if model_dir else bundled_detector_dir()
    if not (d / "manifest.json").is_file():
        raise ClinAudioError("no detector model package here (manifest.json missing); "
                             "train one with `clinaudio detect-train`", path=d)
    return Detector(d, device=device)
