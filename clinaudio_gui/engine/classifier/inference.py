"""Load a classifier package and run it: one window/clip, a whole recording, or an embedding.

    clf = Classifier.load(task="1-2")            # the bundled model for a task
    label, confidence, probs = clf.predict(y, sr)
    result = clf.classify_recording(y, sr)      # record label + sliding-window events
    vec = clf.embed(y, sr)                      # penultimate layer (used by the GAN's FD)

Event models (tasks 1-1, 1-2) see fixed windows of ``window_s`` seconds (an event is
zero-padded / centre-cropped to it, as in training); record models (2-1, 2-2) see the whole
recording. The network's fine classes are summed into the task's classes by the manifest's
``merge`` map, so a 7-class event model also serves task 1-1.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from clinaudio_gui.core.errors import ModelPackageError
from clinaudio_gui.engine.common import data as D
from clinaudio_gui.engine.common.device import resolve_device
from clinaudio_gui.engine.common.frontend import (FeatureSettings, compute_db_images, compute_features,
                                            normalize_images)
from clinaudio_gui.engine.classifier.model import ArchConfig, DualBranchNet
from clinaudio_gui.engine.common.package import load_model_package, models_root


def bundled_model_dir(task: str) -> Path:
    D.check_task(task)
    d = models_root() / f"classifier-{task}"
    if not (d / "manifest.json").is_file():
        raise ModelPackageError(f"no bundled model for task {task}", path=d)
    return d


class Classifier:
    def __init__(self, model: DualBranchNet, manifest: dict, device: torch.device, model_dir: Path | None):
        self.model = model.eval()
        self.manifest = manifest
        self.device = device
        self.model_dir = model_dir
        self.task: str = manifest["task"]
        self.level: str = manifest.get("level", D.TASKS[self.task]["level"])
        self.labels: list[str] = list(manifest["labels"])
        self.output_labels: list[str] = list(manifest.get("output_labels", self.labels))
        self.sample_rate_hz: int = int(manifest["sample_rate_hz"])
        self.window_s: float | None = manifest.get("window_s")
        self.features = FeatureSettings.from_dict(manifest["features"])
        merge = manifest.get("merge") or {k: [k] for k in self.labels}
        m = np.zeros((len(self.output_labels), len(self.labels)), np.float32)
        for j, lab in enumerate(self.output_labels):
            if lab in self.labels:          # a network trained on the task's own classes
                m[j, self.labels.index(lab)] = 1.0
                continue
            for k, task_lab in enumerate(self.labels):
                if lab in merge.get(task_lab, []):
                    m[j, k] = 1.0
        if not np.allclose(m.sum(axis=1), 1.0):
            raise ModelPackageError("manifest 'merge' must map every output class to exactly one task class",
                                    path=model_dir, field="merge")
        self._merge = torch.from_numpy(m).to(device)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, model_dir: str | Path | None = None, *, task: str | None = None,
             device: str | None = None) -> "Classifier":
        """A package folder, or (task alone) the bundled model for that task; device cpu/cuda/auto."""
        if model_dir is None:
            if task is None:
                raise ValueError("give a model folder or a task (1-1, 1-2, 2-1, 2-2)")
            model_dir = bundled_model_dir(task)
        model_dir = Path(model_dir)
        tensors, manifest = load_model_package(model_dir, kind="classifier")
        for k in ("task", "labels", "sample_rate_hz", "features", "architecture"):
            if k not in manifest:
                raise ModelPackageError(f"manifest lacks '{k}'", path=model_dir / "manifest.json", field=k)
        if manifest["task"] not in D.TASKS:
            raise ModelPackageError(f"task={manifest['task']!r} is not one of {', '.join(D.TASKS)}",
                                    path=model_dir / "manifest.json", field="task")
        if task is not None and task != manifest["task"]:
            # a fine-class model can serve the coarser task of the same level
            D.check_task(task)
            if D.TASKS[task]["level"] != manifest.get("level") or \
                    manifest.get("output_labels") != D.FINE_LABELS[D.TASKS[task]["level"]]:
                raise ModelPackageError(f"model is for task {manifest['task']}, not {task}", path=model_dir)
            manifest = dict(manifest, task=task, labels=D.TASKS[task]["labels"], merge=D.TASKS[task]["merge"])
        dev = resolve_device(device)
        model = DualBranchNet(ArchConfig.from_dict(manifest["architecture"]))
        try:
            model.load_state_dict(tensors, strict=True)
        except RuntimeError as e:
            raise ModelPackageError(f"weights do not fit the architecture: {str(e).splitlines()[0]}",
                                    path=model_dir) from None
        return cls(model.to(dev), manifest, dev, model_dir)

    # ------------------------------------------------------------------ helpers
    def _prepare(self, y: np.ndarray, sr: int) -> np.ndarray:
        y = np.asarray(y, np.float32)
        if y.ndim > 1:
            y = y.mean(axis=1) if y.shape[1] < y.shape[0] else y.mean(axis=0)
        if int(sr) != self.sample_rate_hz:
            from clinaudio_gui.io import resample
            y = resample(y, orig_sr=int(sr), target_sr=self.sample_rate_hz)
        return y

    def _image(self, y: np.ndarray) -> np.ndarray:
        if self.level == "event":
            y = D.fit_length(y, int(round(self.window_s * self.sample_rate_hz)))
        return compute_features(y, self.features)

    @torch.no_grad()
    def _forward(self, images: np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(images, np.float32)).to(self.device)
        fused, _, emb = self.model(x)
        probs = torch.softmax(fused.float(), dim=1) @ self._merge
        return probs.cpu().numpy(), emb.float().cpu().numpy()

    # ------------------------------------------------------------------ public
    def predict(self, y: np.ndarray, sr: int) -> tuple[str, float, dict[str, float]]:
        """(label, confidence, {label: probability}) for one event window or one whole record."""
        probs, _ = self._forward(self._image(self._prepare(y, sr))[None])
        p = probs[0]
        k = int(p.argmax())
        return self.labels[k], float(p[k]), {lab: float(v) for lab, v in zip(self.labels, p)}

    def predict_batch(self, clips: list[np.ndarray], sr: int) -> np.ndarray:
        """(N, n_labels) probabilities for several clips (event models: same window length)."""
        imgs = [self._image(self._prepare(c, sr)) for c in clips]
        t = max(i.shape[2] for i in imgs)
        x = np.stack([np.pad(i, ((0, 0), (0, 0), (0, t - i.shape[2])), mode="edge") for i in imgs])
        return self._forward(x)[0]

    def embed(self, y: np.ndarray, sr: int) -> np.ndarray:
        """The penultimate-layer embedding (both branches' embeddings concatenated), float32."""
        _, emb = self._forward(self._image(self._prepare(y, sr))[None])
        return emb[0].astype(np.float32)

    def embed_and_label(self, y: np.ndarray, sr: int) -> tuple[np.ndarray, str]:
        """(embedding, predicted label) of one clip from one forward pass (the GAN's FD embedder)."""
        probs, emb = self._forward(self._image(self._prepare(y, sr))[None])
        return emb[0].astype(np.float32), self.labels[int(probs[0].argmax())]

    def classify_recording(self, y: np.ndarray, sr: int, *, hop_s: float | None = None) -> dict:
        """Record label + probabilities, and for event models the sliding-window events.

        Event models: windows of window_s every hop_s (default window_s/2); each window's label is
        given to its central hop_s-long part, and neighbouring parts with the same label merge
        into one event (confidence = their mean). The record label is the arg-max of the mean
        window probability.
        """
        y = self._prepare(y, sr)
        dur_s = len(y) / self.sample_rate_hz
        if self.level == "record":
            label, conf, probs = self.predict(y, self.sample_rate_hz)
            return {"task": self.task, "record_label": label, "confidence": conf, "probabilities": probs,
                    "events": [], "duration_s": dur_s}
        w = float(self.window_s)
        h = float(hop_s) if hop_s else w / 2
        if h <= 0:
            raise ValueError(f"hop_s={hop_s!r} must be > 0")
        n_w = int(round(w * self.sample_rate_hz))
        if len(y) <= n_w:
            starts = [0.0]
        else:
            starts = list(np.arange(0.0, dur_s - w + 1e-9, h))
            if dur_s - w - starts[-1] > 1e-3:
                starts.append(dur_s - w)
        if len(y) <= n_w:
            imgs = self._image(y)[None]
        else:
            # features once for the whole recording, then each window's frames, standardised per
            # window as in training (frame i is centred at i * hop, so window t starts at t / hop)
            db = compute_db_images(y, self.features)
            n_f = int(round(w / self.features.hop_s)) + 1
            imgs = []
            for t in starts:
                a0 = min(int(round(t / self.features.hop_s)), max(0, db.shape[2] - n_f))
                imgs.append(normalize_images(db[:, :, a0:a0 + n_f], self.features))
            imgs = np.stack(imgs)
        probs = np.concatenate([self._forward(imgs[a:a + 32])[0] for a in range(0, len(imgs), 32)])
        events = []
        for i, (t, p) in enumerate(zip(starts, probs)):
            k = int(p.argmax())
            a = 0.0 if i == 0 else t + (w - h) / 2
            b = dur_s if i == len(starts) - 1 else min(dur_s, starts[i + 1] + (w - h) / 2)
            a = min(a, b)
            if events and events[-1]["label"] == self.labels[k] and abs(events[-1]["end_s"] - a) < 1e-6:
                events[-1]["end_s"] = b
                events[-1]["_c"].append(float(p[k]))
            else:
                events.append({"start_s": a, "end_s": b, "label": self.labels[k], "_c": [float(p[k])]})
        for e in events:
            e["confidence"] = float(np.mean(e.pop("_c")))
            e["start_s"] = round(float(e["start_s"]), 4)
            e["end_s"] = round(float(e["end_s"]), 4)
        mean_p = probs.mean(axis=0)
        k = int(mean_p.argmax())
        return {"task": self.task, "record_label": self.labels[k], "confidence": float(mean_p[k]),
                "probabilities": {lab: float(v) for lab, v in zip(self.labels, mean_p)},
                "events": events, "duration_s": dur_s}
