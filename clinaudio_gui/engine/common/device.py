"""One device choice for every engine subsystem (classifier, GAN, study, detector)."""
from __future__ import annotations

import torch


def resolve_device(device: str | None) -> torch.device:
    """None, '' or 'auto': CUDA when available, else CPU; 'cpu', 'cuda' or 'cuda:N' as given.

    Anything else, or CUDA on a machine without it, is a ValueError naming the value."""
    d = (device or "auto").strip().lower()
    if d == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not (d == "cpu" or d == "cuda" or (d.startswith("cuda:") and d[5:].isdigit())):
        raise ValueError(f"device={device!r}: expected cpu, cuda, cuda:N or auto")
    if d.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available here (use cpu or auto)")
    return torch.device(d)
