"""Bridge from the augment layer's recipes to the trainer's offline minority-class copies."""
from __future__ import annotations

import numpy as np


class AugmentFn:
    """Callable ``(y, sample_rate_hz, rng, index) -> y'`` applying an audio-domain recipe; the copy
    index drives cycling recipes (``naa`` makes copy k with technique k mod 6)."""

    def __init__(self, recipe_name_or_path: str):
        from clinaudio_gui.augment import load_recipe
        self.recipe = load_recipe(recipe_name_or_path)
        if self.recipe.domain != "audio":
            raise ValueError(f"--augment {recipe_name_or_path!r} is a {self.recipe.domain} recipe; the trainer "
                             f"makes audio copies, so it needs an audio recipe (e.g. naa)")
        self.source = str(recipe_name_or_path)

    def __call__(self, y: np.ndarray, sample_rate_hz: int, rng: np.random.Generator, index: int = 0) -> np.ndarray:
        pipe = self.recipe.pipeline
        params = pipe.randomize(rng, {"index": int(index)})
        out = pipe.apply(np.asarray(y, np.float32), sample_rate_hz, params)
        return np.asarray(out, np.float32) if len(out) else np.asarray(y, np.float32)

    def __repr__(self) -> str:
        return f"AugmentFn({self.source!r}: {self.recipe.to_json()})"


def make_augment_fn(recipe_name_or_path: str) -> AugmentFn:
    return AugmentFn(recipe_name_or_path)
