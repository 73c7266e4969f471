"""augment: audio- and spectrogram-domain transforms, Compose / OneOf, recipes, batch export.

No Qt, no torch. Every transform draws with ``randomize(rng)`` and applies with a pure
``apply(x, sample_rate_hz, params)`` (see :mod:`clinaudio_gui.augment.base`).
"""
from clinaudio_gui.augment.base import (AUDIO, REGISTRY, SPECTROGRAM, Param, Transform, map_segment_times,
                                        transform_from_dict)
from clinaudio_gui.augment.audio import (AddNoise, BandPassFilter, Gain, HighPassFilter, LowPassFilter,
                                         MixSameClass, PitchShift, PolarityInversion, TimeShift, TimeStretch,
                                         TrimSilence, colored_noise)
from clinaudio_gui.augment.spectrogram import (Brightness, FreqMask, HeightShift, HorizontalFlip, Rotation,
                                               Shear, SpecAffine, SpecZoom, TimeMask, WidthShift)
from clinaudio_gui.augment.compose import Compose, OneOf, applied_names
from clinaudio_gui.augment.recipes import BUILTIN_RECIPES, Recipe, load_recipe, save_recipe


def describe_transforms() -> list[dict]:
    """Every registered transform with its domain, summary and parameters (name, unit, default)."""
    out = []
    for name in sorted(REGISTRY, key=lambda n: (REGISTRY[n].domain if isinstance(REGISTRY[n].domain, str)
                                                else "", n)):
        cls = REGISTRY[name]
        params = [q.to_dict() for q in cls.PARAMS]
        params.append({"name": "p", "unit": "probability", "default": 1.0, "kind": "float",
                       "help": "chance of applying it inside Compose"})
        domain = cls.domain if isinstance(cls.domain, str) else "any"
        if name in ("Compose", "OneOf"):
            domain = "any"
        out.append({"name": name, "domain": domain, "summary": cls.summary, "params": params})
    return out


def rng_for(seed: int, *keys: object):
    """The one numpy Generator of a pipeline run, derived from a seed and keys (path, index):
    the same inputs give the same stream in any process (no Python hash())."""
    import hashlib

    import numpy as np
    words = [int(seed) & 0xFFFFFFFFFFFFFFFF]
    for k in keys:
        h = hashlib.sha256(str(k).encode("utf-8")).digest()
        words += [int.from_bytes(h[i:i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng(np.random.SeedSequence(words))


__all__ = [n for n in dir() if not n.startswith("_")]
