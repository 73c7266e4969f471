"""The plain baseline the classifier must beat: 40 MFCCs, mean + std pooled over the event or the
record (80 numbers), standardised, class-balanced RBF SVM (sklearn), same patient-wise split."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from clinaudio_gui.engine.common import data as D
from clinaudio_gui.engine.common.metrics import all_metrics

SAMPLE_RATE_HZ = 8000


def mfcc_stats(y: np.ndarray, sr: int = SAMPLE_RATE_HZ) -> np.ndarray:
    import librosa
    if len(y) < 512:
        y = np.pad(y, (0, 512 - len(y)))
    m = librosa.feature.mfcc(y=y.astype(np.float32), sr=sr, n_mfcc=40, n_fft=512, hop_length=128, n_mels=64)
    return np.concatenate([m.mean(axis=1), m.std(axis=1)]).astype(np.float32)


def _cached_mfcc(items, level: str, cache_dir) -> np.ndarray:
    """MFCC statistics of every item, cached (npz) so the tasks of one level share them."""
    import hashlib
    import json
    import os
    from clinaudio_gui.engine.common.cache import default_cache_dir
    from clinaudio_gui.io import read_audio
    cache_dir = Path(cache_dir or default_cache_dir())
    key = hashlib.sha256(json.dumps(["mfcc40", level, [(i.audio, i.start_s, i.end_s) for i in items]])
                         .encode()).hexdigest()[:16]
    path = cache_dir / f"mfcc-{level}-{key}.npz"
    if path.is_file():
        return np.load(path)["x"]
    x = np.stack([mfcc_stats(read_audio(i.audio, start_s=i.start_s, end_s=i.end_s, target_sr=SAMPLE_RATE_HZ)[0])
                  for i in items])
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # unique per DDP rank
    np.savez(tmp, x=x)
    os.replace(tmp, path)
    return x


def run_baseline(*, task: str, data_dir: str | Path, val_fraction: float = 0.2, seed: int = 0,
                 cache_dir: str | Path | None = None) -> dict:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    spec = D.check_task(task)
    items = D.load_items(data_dir, spec["level"])
    tr, va, _, _ = D.split_items(items, val_fraction=val_fraction, seed=seed, patients=D.folder_patients(data_dir))

    all_x = _cached_mfcc(items, spec["level"], cache_dir)
    index = {id(i): k for k, i in enumerate(items)}

    def feats(its):
        return all_x[[index[id(i)] for i in its]]

    labels = spec["labels"]
    y_tr = np.array([labels.index(D.to_task_label(i.label, task)) for i in tr])
    y_va = np.array([labels.index(D.to_task_label(i.label, task)) for i in va])
    clf = make_pipeline(StandardScaler(), SVC(kernel="rbf", C=1.0, gamma="scale", class_weight="balanced"))
    clf.fit(feats(tr), y_tr)
    pred = clf.predict(feats(va))
    m = all_metrics(y_va, pred, labels)
    return {"task": task, **m, "model": "baseline: 40 MFCC mean+std, class-balanced RBF SVM",
            "n_train": len(tr), "n_val": len(va)}
