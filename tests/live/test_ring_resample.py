"""Ring buffer and streaming resampler: exact, no device needed."""
from __future__ import annotations

import threading
from math import gcd

import numpy as np
import pytest
from scipy.signal import resample_poly

from clinaudio_gui.io import read_audio
from clinaudio_gui.live import RingBuffer, StreamingResampler


def test_ring_readers_are_independent_and_exact():
    ring = RingBuffer(1000)
    a, b = ring.reader(), ring.reader()
    x = np.arange(2500, dtype=np.float32)
    got_a = []
    for i in range(0, 2500, 70):
        ring.write(x[i:i + 70])
        got_a.append(a.read()[1])  # a keeps up
    assert np.array_equal(np.concatenate(got_a), x)
    assert a.overruns == 0
    # b never read: it lost everything older than the capacity, counted once, rest is exact
    start, data = b.read()
    assert b.overruns == 1 and b.lost_frames == 1500
    assert start == 1500 and np.array_equal(data, x[1500:])


def test_ring_whole_frames_only():
    ring = RingBuffer(64)
    r = ring.reader()
    ring.write(np.arange(10, dtype=np.float32))
    start, d = r.read(multiple_of=4)
    assert start == 0 and np.array_equal(d, np.arange(8))
    ring.write(np.arange(10, 13, dtype=np.float32))
    start, d = r.read(multiple_of=4)
    assert start == 8 and list(d) == [8, 9, 10, 11]
    assert r.available() == 1


def test_ring_block_larger_than_capacity_keeps_newest():
    ring = RingBuffer(16)
    r = ring.reader()
    ring.write(np.arange(40, dtype=np.float32))
    start, d = r.read()
    assert start == 24 and np.array_equal(d, np.arange(24, 40)) and r.overruns == 1


def test_ring_concurrent_producer_never_returns_torn_data():
    """A producer thread races a slow reader on a tiny ring: every frame the reader returns
    must be the frame with that absolute index (values encode their index)."""
    ring = RingBuffer(257)
    r = ring.reader()
    n_total = 400_000
    done = threading.Event()

    def produce():
        x = np.arange(n_total, dtype=np.float32)
        for i in range(0, n_total, 37):
            ring.write(x[i:i + 37])
        done.set()
    t = threading.Thread(target=produce)
    t.start()
    seen = 0
    while not (done.is_set() and r.available() == 0):
        start, d = r.read()
        if len(d):
            assert np.array_equal(d, np.arange(start, start + len(d), dtype=np.float32))
            seen += len(d)
    t.join()
    assert seen + r.lost_frames == n_total


@pytest.mark.parametrize("orig_sr,target_sr", [(44100, 8000), (48000, 8000), (16000, 8000),
                                               (8000, 44100), (44100, 4000), (8000, 8000)])
def test_streaming_resampler_equals_resample_poly(orig_sr, target_sr):
    rng = np.random.default_rng(orig_sr + target_sr)
    x = rng.standard_normal(orig_sr).astype(np.float32)
    r = StreamingResampler(orig_sr=orig_sr, target_sr=target_sr)
    out, i = [], 0
    while i < len(x):  # random block sizes, including 1-sample blocks
        n = int(rng.integers(1, 2000))
        out.append(r.process(x[i:i + n]))
        i += n
    y = np.concatenate(out)
    g = gcd(orig_sr, target_sr)
    ref = resample_poly(x.astype(np.float64), target_sr // g, orig_sr // g)
    assert len(ref) - 60 <= len(y) <= len(ref)  # only the tail needing future input is missing
    np.testing.assert_allclose(y, ref[:len(y)], atol=2e-6)


def test_streaming_resampler_on_real_recording(sprsound_dir):
    """A real 8 kHz recording up to 44.1 kHz and back, streamed in 10 ms blocks."""
    f = sorted(sprsound_dir.glob("*.flac"))[0]
    y, sr = read_audio(f, end_s=4.0)
    up = StreamingResampler(orig_sr=sr, target_sr=44100)
    down = StreamingResampler(orig_sr=44100, target_sr=sr)
    out = [down.process(up.process(y[i:i + 80])) for i in range(0, len(y), 80)]
    z = np.concatenate(out)
    n = len(z) - 200
    assert n > 0.9 * len(y)
    assert np.corrcoef(z[100:n], y[100:n])[0, 1] > 0.999


def test_bad_rates_raise():
    with pytest.raises(ValueError, match="orig_sr=0"):
        StreamingResampler(orig_sr=0, target_sr=8000)
    with pytest.raises(ValueError, match="capacity_frames=0"):
        RingBuffer(0)
