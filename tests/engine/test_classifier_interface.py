"""Classifier.embed_and_label: the public call the GAN's FD embedder uses (one forward pass)."""
import numpy as np

from clinaudio_gui.engine.classifier.inference import Classifier


def test_embed_and_label_matches_embed_and_predict():
    clf = Classifier.load(task="1-2", device="cpu")
    rng = np.random.default_rng(3)
    for k in range(3):
        y = (0.05 * rng.standard_normal(8000 + 1000 * k)).astype(np.float32)
        emb, label = clf.embed_and_label(y, 8000)
        assert emb.dtype == np.float32 and emb.ndim == 1
        np.testing.assert_allclose(emb, clf.embed(y, 8000), rtol=1e-5, atol=1e-6)
        assert label == clf.predict(y, 8000)[0]
