"""Can the detector's own pooled embedding (the record head's input) tell a lung recording from
anything else? Session 18's check, not adopted (docs/models.md, "Trust"): a Mahalanobis distance
(scikit-learn's LedoitWolf covariance) fitted on a fold package's training recordings not labelled
Poor Quality, its threshold at a quantile of the inner-validation patients' distances (test
patients never used), then the share of ESC-10 clips (not lung sounds) and of ICBHI sample blocks
(lung sounds from other stethoscopes) beyond it.

    .venv/bin/python scripts/detector_embedding_ood.py models/cv/det_cv25/fold0 [--quantile 0.99]
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clinaudio_gui.engine.detector.data import load_features, scan_recordings  # noqa: E402
from clinaudio_gui.engine.detector.infer import Detector  # noqa: E402
from clinaudio_gui.engine.detector.train import fold_indices  # noqa: E402
from clinaudio_gui.io.audio import read_audio  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("package", help="a fold package (its split says which patients are training / inner validation)")
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--cache", default=str(REPO / "runs" / "cache"))
    ap.add_argument("--quantile", type=float, default=0.99)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    from sklearn.covariance import LedoitWolf
    det = Detector(a.package)
    data = Path(a.data)
    recs = scan_recordings(data / "sprsound" / "train")
    load_features(recs, cache_dir=a.cache)
    tr, va, _ = fold_indices(recs, det.manifest)

    @torch.inference_mode()
    def emb(feats):
        return det.net(torch.from_numpy(np.asarray(feats, np.float32))[None])[3][0].numpy().astype(np.float64)

    def blocks(path):
        y, _ = read_audio(path, target_sr=det.sr)
        return [det._block(b)[2] for _, b in det._blocks_of_array(y) if len(b) >= 64]

    fit = np.array([emb(recs[i].features) for i in tr if recs[i].record_label != "Poor Quality"])
    val = np.array([emb(recs[i].features) for i in va if recs[i].record_label != "Poor Quality"])
    lw = LedoitWolf().fit(fit)

    def dist(x):
        d = np.asarray(x) - lw.location_
        return np.sqrt(np.einsum("ij,jk,ik->i", d, lw.precision_, d))

    thr = float(np.quantile(dist(val), a.quantile))
    esc = np.array([e for f in sorted((data / "esc10").glob("*/*.ogg")) for e in blocks(f)])
    ic = np.array([e for f in sorted((data / "icbhi-sample").glob("*.wav")) for e in blocks(f)])
    de, di = dist(esc) / thr, dist(ic) / thr
    print(f"{a.package}: fitted on {len(fit)} training recordings, threshold at the {a.quantile} quantile of "
          f"{len(val)} inner-validation recordings")
    print(f"ESC-10 blocks beyond it: {np.mean(de > 1):.2f} of {len(de)} (distance / threshold "
          f"{de.min():.2f}-{de.max():.2f})")
    print(f"ICBHI sample blocks beyond it: {np.mean(di > 1):.2f} of {len(di)} (distance / threshold "
          f"{di.min():.2f}-{di.max():.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
