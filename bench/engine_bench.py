"""Engine speed: classify a 10 s recording (target < 100 ms on CPU once loaded), feature extraction
and training throughput, each beside a named reference measured in the same run.

    .venv/bin/python bench/engine_bench.py [--threads N] [--markdown]

Reference for inference and features: librosa's 64-band log-mel spectrogram of the same audio
(a cost every audio tool pays). Training throughput is items/s of one optimiser step on cached
feature images, event (2 s) and record (9 s crop) shapes.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
AUDIO = REPO.parent / "shared" / "data" / "sprsound" / "train" / "40069321_15.3_0_p1_981.flac"


def timeit(fn, n=7):
    fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    import librosa
    import soundfile as sf
    from clinaudio_gui.engine.common.frontend import compute_features
    from clinaudio_gui.engine.classifier.inference import Classifier
    from clinaudio_gui.engine.classifier.model import ArchConfig, DualBranchNet, multi_objective_loss
    from clinaudio_gui.engine.classifier.train import feature_settings_for

    y, sr = sf.read(str(AUDIO), dtype="float32")
    y10 = np.resize(y, 10 * sr)

    def mel():
        librosa.power_to_db(librosa.feature.melspectrogram(y=y10, sr=sr, n_fft=512, hop_length=128, n_mels=64))

    rows = []
    t_mel = timeit(mel)
    rows.append(("reference: librosa 64-band log-mel of 10 s", t_mel * 1e3, "ms", 1.0))
    t_feat = timeit(lambda: compute_features(y10, feature_settings_for("record")))
    rows.append(("gammatone + CWT features of 10 s (record grid, 32 ms hop)", t_feat * 1e3, "ms", t_feat / t_mel))
    for task in ("2-2", "1-2"):
        try:
            clf = Classifier.load(task=task, device="cpu")
        except Exception as e:  # no bundled model yet
            print(f"skip {task}: {e}", file=sys.stderr)
            continue
        t = timeit(lambda: clf.classify_recording(y10, sr))
        what = "record label" if clf.level == "record" else f"sliding {clf.window_s:g} s windows, hop {clf.window_s / 2:g} s"
        rows.append((f"classify 10 s, task {task} model, CPU ({what})", t * 1e3, "ms", t / t_mel))

    def train_rate(shape, dev):
        m = DualBranchNet(ArchConfig(n_classes=7)).to(dev)
        opt = torch.optim.AdamW(m.parameters(), 1e-3)
        x = torch.randn(32, *shape, device=dev)
        yb = torch.randint(0, 7, (32,), device=dev)

        def step():
            f, b, _ = m(x)
            loss = multi_objective_loss(f, b, yb)[0]
            opt.zero_grad(); loss.backward(); opt.step()
            if dev.type == "cuda":
                torch.cuda.synchronize()
        return 32 / timeit(step, n=3)

    n_feat = 20
    t_f = timeit(lambda: [compute_features(y10[: 2 * sr], feature_settings_for("event")) for _ in range(n_feat)], n=3)
    rows.append(("feature extraction, 2 s events (items/s)", n_feat / t_f, "items/s", None))
    devs = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for dev in devs:
        rows.append((f"training step, events 2x64x125, batch 32, {dev.type} (items/s)",
                     train_rate((2, 64, 125), dev), "items/s", None))
        rows.append((f"training step, records 2x64x282, batch 32, {dev.type} (items/s)",
                     train_rate((2, 64, 282), dev), "items/s", None))
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"cuda {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}")
    print("| measurement | value | unit | ratio to reference |")
    print("|---|---:|---|---:|")
    for name, v, unit, ratio in rows:
        print(f"| {name} | {v:.1f} | {unit} | {'' if ratio is None else f'{ratio:.2f}x'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
