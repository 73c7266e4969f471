"""The mel feature cache is shared by concurrent runs (e.g. study folds in parallel processes)."""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from clinaudio_gui.engine.gan.data import load_examples

_CHILD = """
import sys, time
from clinaudio_gui.engine.gan.data import load_examples
start = float(sys.argv[3])
while time.time() < start:
    time.sleep(0.001)
exs, _, _ = load_examples(sys.argv[1], labels="events", cache_dir=sys.argv[2])
print(len(exs))
"""


def test_concurrent_runs_write_the_same_cache_entry_safely(tiny_sprsound, tmp_path):
    # four processes compute the same entry and write it at about the same moment; with one fixed
    # temporary name they renamed each other's file away (FileNotFoundError)
    for attempt in range(2):
        cache = tmp_path / f"cache{attempt}"
        start = time.time() + 4.0
        procs = [subprocess.Popen([sys.executable, "-c", _CHILD, str(tiny_sprsound), str(cache), str(start)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
        outs = [p.communicate(timeout=300) for p in procs]
        for p, (out, err) in zip(procs, outs):
            assert p.returncode == 0, err[-2000:]
        counts = {int(out.strip()) for out, _ in outs}
        assert len(counts) == 1
        assert len(list(cache.glob("*.tmp.npz"))) == 0
        exs, _, _ = load_examples(tiny_sprsound, labels="events", cache_dir=cache)
        assert len(exs) == counts.pop() and all(np.isfinite(e.mel_db).all() for e in exs)
