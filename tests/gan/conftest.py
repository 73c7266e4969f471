"""A tiny real SPRSound subset (symlinks) so GAN and study smoke runs stay fast."""
from __future__ import annotations

import json
from pathlib import Path

import pytest


def _pick(sprsound_dir: Path, *, want=("Wheeze", "Fine Crackle", "Coarse Crackle", "Rhonchi"), per_class=2,
          normals=3) -> list[Path]:
    chosen: list[Path] = []
    have: dict[str, int] = {}
    for j in sorted(sprsound_dir.glob("*.json")):
        d = json.loads(j.read_text())
        types = {e["type"] for e in d.get("event_annotation", [])}
        audio = j.with_name(j.name[:-5] + ".flac")
        if not audio.is_file() or not types:
            continue
        take = any(t in want and have.get(t, 0) < per_class for t in types) or \
            (types == {"Normal"} and have.get("Normal", 0) < normals)
        if take:
            chosen.append(j)
            for t in types:
                have[t] = have.get(t, 0) + 1
        if all(have.get(t, 0) >= per_class for t in want) and have.get("Normal", 0) >= normals:
            break
    return chosen


@pytest.fixture(scope="session")
def tiny_sprsound(sprsound_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny_sprsound")
    for j in _pick(sprsound_dir):
        audio = j.with_name(j.name[:-5] + ".flac")
        (out / j.name).symlink_to(j)
        (out / audio.name).symlink_to(audio)
    return out


@pytest.fixture(scope="session")
def tiny_gan(tiny_sprsound, tmp_path_factory) -> Path:
    """A generator package trained for 2 steps on the tiny subset (through the real training code)."""
    import torch
    torch.set_num_threads(1)
    from clinaudio_gui.engine.gan.train import train_gan
    from clinaudio_gui.engine.gan.data import class_list, load_examples
    exs, feat, layout = load_examples(tiny_sprsound, labels="events")
    classes = class_list(exs, layout=layout, labels="events")
    out = tmp_path_factory.mktemp("tiny_gan")
    train_gan(exs, classes, feat, out_dir=out, epochs=1, steps_per_epoch=2, batch_size=8, n_critic=2,
              g_channels=32, d_channels=8, resume=False)
    return out
