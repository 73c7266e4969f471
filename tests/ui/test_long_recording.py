"""The 60-minute 44.1 kHz targets (bench/viewer_bench.py run as a test): first complete paint
< 2 s, pan / zoom repaint < 50 ms (p95), peak RSS < 1 GB. Slow: generates a 318 MB file."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
REPO = Path(__file__).resolve().parents[2]


def test_sixty_minute_recording_targets():
    spec = importlib.util.spec_from_file_location("viewer_bench", REPO / "bench" / "viewer_bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path = bench.make_file(Path("/tmp/clinaudio_bench_60min_44k.wav"), 60.0)
    res = bench.run_child("clinaudio", path, 12)
    assert "failed" not in res, res
    assert res["first_paint_s"] < 2.0, res
    assert res["pan_paint_ms"]["p95"] < 50 and res["zoom_paint_ms"]["p95"] < 50, res
    assert res["peak_rss_mb"] < 1000, res
