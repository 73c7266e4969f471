"""Embedders for the GAN's per-class Frechet distance (``engine.gan.quality.per_class_fd``).

* :class:`ClassifierEmbedder`: the bundled event classifier's penultimate layer on Griffin-Lim
  audio of the mels (through the classifier's public ``embed_and_label``).
* :class:`StudyCnnEmbedder` (fallback when no classifier is bundled): the study's compact log-mel
  CNN, trained on the real patches, embeds mels directly.

They live here, not in the GAN package, because the study is the one engine subsystem that may
use both the classifier and the GAN.
"""
from __future__ import annotations

import numpy as np
import torch

from clinaudio_gui.engine.classifier.inference import Classifier
from clinaudio_gui.engine.gan.data import Example, mel_db_to_audio
from clinaudio_gui.engine.gan.train import normalization_stats
from clinaudio_gui.engine.study.study import train_classifier


class ClassifierEmbedder:
    name = "classifier"

    def __init__(self, task: str = "1-2"):
        self.clf = Classifier.load(task=task, device="cpu")
        self.description = f"bundled classifier task {task}: {self.clf.model_dir}"

    def embed_mels(self, mels: np.ndarray, features: dict, *, with_labels: bool = False):
        """(n, d) embeddings; with_labels: also the classifier's predicted label per mel."""
        sr = int(features["sample_rate_hz"])
        embs, labels = [], []
        for m in mels:
            emb, label = self.clf.embed_and_label(mel_db_to_audio(m, features, n_iter=32), sr)
            embs.append(emb)
            labels.append(label)
        return (np.stack(embs), labels) if with_labels else np.stack(embs)


class StudyCnnEmbedder:
    name = "studycnn"

    def __init__(self, examples: list[Example], classes: list[str], features: dict, *, steps: int = 300,
                 seed: int = 0):
        self.mean, self.std = normalization_stats(examples)
        li = {c: i for i, c in enumerate(classes)}
        pool = [(e.mel_db, li[e.label]) for e in examples if e.label in li]
        self.model = train_classifier(pool, len(classes), self.mean, self.std, features["frames"], steps=steps,
                                      seed=seed, device=torch.device("cpu"))
        self.description = f"StudyCNN trained {steps} steps on the real training patches (fallback)"
        self.classes = list(classes)

    def probabilities(self, mels: np.ndarray) -> np.ndarray:
        """(n, n_classes) softmax of the CNN (trained on real patches only), for GAN filtering."""
        x = ((np.asarray(mels) - self.mean[None, :, None]) / self.std[None, :, None])[:, None].astype(np.float32)
        with torch.no_grad():
            return np.concatenate([torch.softmax(self.model(torch.from_numpy(x[i:i + 64])), 1).numpy()
                                   for i in range(0, len(x), 64)])

    def embed_mels(self, mels: np.ndarray, features: dict, *, with_labels: bool = False):
        x = ((np.asarray(mels) - self.mean[None, :, None]) / self.std[None, :, None])[:, None].astype(np.float32)
        with torch.no_grad():
            emb = np.concatenate([self.model.embed(torch.from_numpy(x[i:i + 64])).numpy()
                                  for i in range(0, len(x), 64)])
            if not with_labels:
                return emb
            logits = np.concatenate([self.model(torch.from_numpy(x[i:i + 64])).numpy()
                                     for i in range(0, len(x), 64)])
        return emb, [self.classes[int(k)] for k in logits.argmax(1)]
