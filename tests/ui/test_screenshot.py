"""`clinaudio-gui FILE --screenshot PNG` under a real X server (Xvfb): the image is not blank."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.timeout(150)
REPO = Path(__file__).resolve().parents[2]


def _png_rgb(path: Path) -> np.ndarray:
    from PySide6.QtGui import QImage
    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    assert not img.isNull(), f"{path} is not a readable PNG"
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, :w * 3].reshape(h, w, 3).copy()


def test_screenshot_under_xvfb_is_not_blank(examples_dir, tmp_path):
    if shutil.which("xvfb-run") is None:
        pytest.fail("xvfb-run not installed (make test installs xvfb)")
    exe = Path(sys.executable).with_name("clinaudio-gui")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "clinaudio_gui"]
    out = tmp_path / "shot.png"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "XDG_RUNTIME_DIR": str(tmp_path)}
    r = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", *cmd,
                        str(examples_dir / "40638274_9.7_1_p2_1801.flac"), "--screenshot", str(out)],
                       capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    rgb = _png_rgb(out)
    h, w, _ = rgb.shape
    assert w >= 1000 and h >= 600, (w, h)
    # not blank: many colours and real contrast
    flat = rgb.reshape(-1, 3)
    n_colours = len(np.unique(flat[:: 7].astype(np.uint32) @ np.array([65536, 256, 1], np.uint32)))
    assert n_colours > 500, n_colours
    assert flat.std(axis=0).mean() > 20
    # the spectrogram was drawn: viridis purple (quiet) and green-yellow (breath energy) pixels
    mid = rgb[int(h * 0.55):int(h * 0.95), int(w * 0.35):int(w * 0.75)].reshape(-1, 3).astype(int)
    purple = ((mid[:, 0] > 50) & (mid[:, 0] < 110) & (mid[:, 1] < 80) & (mid[:, 2] > 90)).mean()
    energy = ((mid[:, 1] > 150) & (mid[:, 2] < 140)).mean()
    assert purple > 0.2 and energy > 0.005, (purple, energy)
