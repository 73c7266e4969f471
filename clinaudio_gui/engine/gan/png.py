"""A tiny PNG writer (zlib + struct) for sample grids when matplotlib is not installed."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

# magma-like anchors (value, r, g, b)
_ANCHORS = np.array([[0.0, 0, 0, 4], [0.25, 81, 18, 124], [0.5, 183, 55, 121], [0.75, 252, 137, 97],
                     [1.0, 252, 253, 191]], dtype=np.float64)


def colorize(img: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """(H, W) values -> (H, W, 3) uint8 through a magma-like colour map."""
    t = np.clip((np.asarray(img, dtype=np.float64) - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    rgb = np.stack([np.interp(t, _ANCHORS[:, 0], _ANCHORS[:, k]) for k in (1, 2, 3)], axis=-1)
    return rgb.round().astype(np.uint8)


def encode_png(rgb: np.ndarray) -> bytes:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[r].tobytes() for r in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def write_png_grid(path: str | Path, images: np.ndarray, rows: int, cols: int, lo: float, hi: float,
                   *, scale: int = 2, gap: int = 2) -> Path:
    """Images (rows*cols, H, W) with low frequencies at the bottom, tiled with a gap."""
    from clinaudio_gui.core.atomic import atomic_write_bytes
    _, h, w = images.shape
    H, W = rows * (h * scale + gap) + gap, cols * (w * scale + gap) + gap
    canvas = np.full((H, W, 3), 255, dtype=np.uint8)
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        tile = colorize(images[i][::-1], lo, hi).repeat(scale, 0).repeat(scale, 1)
        y0, x0 = gap + r * (h * scale + gap), gap + c * (w * scale + gap)
        canvas[y0:y0 + h * scale, x0:x0 + w * scale] = tile
    path = Path(path)
    atomic_write_bytes(path, encode_png(canvas))
    return path
