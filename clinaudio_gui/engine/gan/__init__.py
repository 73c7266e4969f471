"""The class-conditional WGAN-GP on log-mel patches: networks (``model``), sampling a packaged
generator (``sampler``), training (``train``), export of kept samples (``export``), mel examples
(``data``), PNG grids (``png``) and the per-class Frechet distance (``quality``).

The GAN does not import the classifier: ``quality.per_class_fd`` takes any embedder with an
``embed_mels`` method (the study package provides the classifier-based ones)."""
