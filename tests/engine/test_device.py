"""engine.common.device.resolve_device: the one device choice of classifier, GAN, study and detector."""
import pytest
import torch

from clinaudio_gui.engine.common.device import resolve_device


@pytest.mark.parametrize("name", [None, "", "auto", "AUTO"])
def test_auto_is_cuda_when_available_else_cpu(name):
    assert resolve_device(name).type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_cpu_and_bad_names():
    assert resolve_device("cpu") == torch.device("cpu")
    for bad in ("tpu", "cuda:x", "gpu", "cpu:0:1"):
        with pytest.raises(ValueError, match=repr(bad).replace("(", r"\(")):
            resolve_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only machine's message")
def test_cuda_without_cuda_is_named():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda:0")


def test_gan_and_classifier_share_it():
    """No second device helper left in the subsystems."""
    import clinaudio_gui.engine.classifier.inference as inf
    import clinaudio_gui.engine.classifier.train as tr
    import clinaudio_gui.engine.gan.sampler as smp
    import clinaudio_gui.engine.gan.train as gtr
    assert inf.resolve_device is tr.resolve_device is smp.resolve_device is gtr.resolve_device is resolve_device
