"""Recipes: a pipeline plus what it needs to run, as a JSON file that reproduces it exactly.

Format (``format: clinaudio.augment.recipe``, ``version: 1``)::

    {"format": "clinaudio.augment.recipe", "version": 1, "name": "naa",
     "description": "...", "domain": "audio",
     "pipeline": {"name": "OneOf", "cycle": true, "transforms": [{"name": "TimeShift", ...}, ...]},
     "features": null}

``features`` (spectrogram recipes only) says how audio inputs become images before the
image transforms run: a mel spectrogram in dB with the given settings.

Built-ins, after the "meaningful" (NAA) and "traditional" (TAA) augmentation sets of
M. Mushtaq & S.-F. Su, "Efficient classification of environmental sounds through multiple
features aggregation and data enhancement techniques for spectrogram images", Symmetry 12
(2020) 1822, and M. Mushtaq, S.-F. Su, "Environmental sound classification using a
regularized deep convolutional neural network with data augmentation", Applied Acoustics
167 (2020):

* ``naa``: one copy per technique (OneOf, cycling by copy index): time shift (up to 0.5 s,
  either way, zero fill), pitch shift up (+1 to +2 semitones), pitch shift down (-2 to -1),
  time stretch 0.7 (slow), time stretch 1.2 (fast), trim silence (-30 dB, 50 ms margin).
  The semitone and shift ranges are our choices where the papers leave them open.
* ``taa``: zoom 0.25, width shift 0.20, height shift 0.20, fill nearest, rotation 30 degrees
  and shear 0.30 (one affine resampling, Keras ImageDataGenerator semantics; shear here is a
  shear factor), brightness 0.5-1.5, horizontal flip (p = 0.5).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clinaudio_gui.augment.audio import PitchShift, TimeShift, TimeStretch, TrimSilence
from clinaudio_gui.augment.base import AUDIO, SPECTROGRAM, Transform, transform_from_dict
from clinaudio_gui.augment.compose import Compose, OneOf
from clinaudio_gui.augment.spectrogram import Brightness, HorizontalFlip, SpecAffine
from clinaudio_gui.core.atomic import atomic_write_text

FORMAT = "clinaudio.augment.recipe"
VERSION = 1

#: mel settings used when a spectrogram recipe receives audio
DEFAULT_FEATURES = {"kind": "mel_db", "n_mels": 64, "n_fft": 512, "hop": 128, "f_min_hz": 50.0,
                    "f_max_hz": None, "top_db": 80.0}


@dataclass
class Recipe:
    name: str
    pipeline: Transform
    description: str = ""
    features: dict | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return self.pipeline.domain

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "name": self.name, "description": self.description,
                "domain": self.domain, "pipeline": self.pipeline.to_dict(),
                "features": self.features if self.domain == SPECTROGRAM else None}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, d: dict, *, source: str = "<recipe>") -> "Recipe":
        if not isinstance(d, dict):
            raise ValueError(f"{source}: a recipe must be a JSON object, got {type(d).__name__}")
        if d.get("format") != FORMAT:
            raise ValueError(f"{source}: format={d.get('format')!r} is not {FORMAT!r}")
        if d.get("version") != VERSION:
            raise ValueError(f"{source}: version={d.get('version')!r} is not supported (only {VERSION})")
        if "pipeline" not in d:
            raise ValueError(f"{source}: no 'pipeline'")
        try:
            pipeline = transform_from_dict(d["pipeline"])
        except (TypeError, ValueError) as e:
            raise ValueError(f"{source}: {e}") from None
        features = d.get("features")
        if pipeline.domain == SPECTROGRAM:
            features = {**DEFAULT_FEATURES, **(features or {})}
        if d.get("domain") not in (None, pipeline.domain):
            raise ValueError(f"{source}: domain={d.get('domain')!r} but the pipeline is {pipeline.domain}")
        return cls(name=str(d.get("name") or "recipe"), pipeline=pipeline,
                   description=str(d.get("description") or ""), features=features)


def naa() -> Recipe:
    pipe = OneOf([
        TimeShift(min_shift_s=0.0, max_shift_s=0.5, direction="both"),
        PitchShift(min_semitones=1.0, max_semitones=2.0),
        PitchShift(min_semitones=-2.0, max_semitones=-1.0),
        TimeStretch(min_rate=0.7, max_rate=0.7),
        TimeStretch(min_rate=1.2, max_rate=1.2),
        TrimSilence(threshold_db=-30.0, margin_s=0.05),
    ], cycle=True)
    return Recipe("naa", pipe, "meaningful audio augmentation: time shift, pitch up, pitch down, "
                               "stretch 0.7, stretch 1.2, trim silence (one per copy, cycling)")


def taa() -> Recipe:
    pipe = Compose([
        SpecAffine(max_zoom_fraction=0.25, max_width_shift_fraction=0.20, max_height_shift_fraction=0.20,
                   max_rotation_deg=30.0, max_shear=0.30, fill_mode="nearest"),
        Brightness(min_factor=0.5, max_factor=1.5),
        HorizontalFlip(p=0.5),
    ])
    return Recipe("taa", pipe, "traditional image augmentation of the spectrogram: zoom 0.25, width/height "
                               "shift 0.20, fill nearest, rotation 30 deg, shear 0.30, brightness 0.5-1.5, "
                               "horizontal flip", features=dict(DEFAULT_FEATURES))


BUILTIN_RECIPES = {"naa": naa, "taa": taa}


def load_recipe(name_or_path: str | Path) -> Recipe:
    """A built-in recipe by name, or a recipe JSON file."""
    key = str(name_or_path)
    if key in BUILTIN_RECIPES:
        return BUILTIN_RECIPES[key]()
    path = Path(key)
    if not path.is_file():
        raise ValueError(f"recipe {key!r} is neither a built-in ({', '.join(BUILTIN_RECIPES)}) nor a file")
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read recipe: {e}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: invalid JSON: {e.msg}") from None
    return Recipe.from_dict(d, source=str(path))


def save_recipe(path: str | Path, recipe: Recipe) -> Path:
    path = Path(path)
    atomic_write_text(path, recipe.to_json())
    return path


_ = AUDIO
