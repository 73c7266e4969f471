import json

import pytest
import torch

from clinaudio_gui.core.errors import ModelPackageError
from clinaudio_gui.engine.common.package import load_model_package, save_model_package, list_packages


def test_roundtrip_and_hash_check(tmp_path):
    t = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    d = save_model_package(tmp_path / "m", t, {"kind": "classifier", "task": "1-1"})
    tensors, man = load_model_package(d, kind="classifier")
    assert torch.equal(tensors["w"], t["w"]) and man["task"] == "1-1"
    assert [p.name for p, _ in list_packages(tmp_path)] == ["m"]
    with pytest.raises(ModelPackageError, match="kind"):
        load_model_package(d, kind="gan-generator")
    w = d / "model.safetensors"
    data = bytearray(w.read_bytes()); data[-1] ^= 1; w.write_bytes(bytes(data))
    with pytest.raises(ModelPackageError, match="sha256 mismatch"):
        load_model_package(d)


def test_bad_manifest_is_named(tmp_path):
    d = tmp_path / "m"; d.mkdir()
    (d / "manifest.json").write_text("{not json")
    with pytest.raises(ModelPackageError, match="manifest.json"):
        load_model_package(d)
    (d / "manifest.json").write_text(json.dumps({"format": "clinaudio-model"}))
    with pytest.raises(ModelPackageError, match="lacks"):
        load_model_package(d)
