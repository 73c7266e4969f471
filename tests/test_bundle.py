"""The built one-folder bundle starts offscreen and draws a recording (make test-bundle)."""
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / "dist" / "clinaudio-gui"


def _size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


@pytest.mark.slow
def test_bundle_screenshot(tmp_path):
    exe = BUNDLE / "clinaudio-gui"
    assert exe.exists(), "run `make bundle` first (make test-bundle does)"
    for item in ("models", "resources"):
        assert any((BUNDLE / "_internal").glob(item)) or (BUNDLE / item).exists(), item
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    example = REPO / "resources" / "examples" / "40638274_9.7_1_p2_1801.flac"
    r = subprocess.run([str(exe), str(example), "--screenshot", str(out)], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "panel unavailable" not in r.stderr, r.stderr  # every side panel (classify, GAN, live...) loaded
    assert out.exists() and out.stat().st_size > 20_000
    from PySide6.QtGui import QImage
    img = QImage(str(out))
    assert not img.isNull() and img.width() > 400 and img.height() > 300
    colors = {img.pixel(x, y) for x in range(0, img.width(), 17) for y in range(0, img.height(), 17)}
    assert len(colors) > 50, "screenshot looks blank"
    print(f"bundle size: {_size_mb(BUNDLE):.0f} MB")
