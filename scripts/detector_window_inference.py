"""Does the detector do better when it sees, at inference, sequences as long as its training crops?
Training crops are --crop-frames (384 frames, 6.1 s) long; inference runs the whole recording
(up to 1,024 frames) through the GRU and the self-attention at once. This script decodes every fold
package's inner-validation and test recordings both ways, with the package's own temperatures and
decoder (proposal scorer, edge head, shifts): "whole" (as the product does; the script checks that
its test event F equals the package's) and "windows": the cached features cut into windows of
--window frames at a hop of half that, each frame taken from the window whose centre is nearest,
the record logits averaged over windows. A diagnostic: the package's proposal scorer was fitted on
whole-recording probabilities of the training patients.

    .venv/bin/python scripts/detector_window_inference.py models/cv/det_cv25 [--window 384] [--json OUT]
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clinaudio_gui.engine.common.data import EVENT_LABELS, RECORD_LABELS  # noqa: E402
import detector_runs as R  # noqa: E402
from clinaudio_gui.engine.detector import scoring as S  # noqa: E402
from clinaudio_gui.engine.detector.decode import decode  # noqa: E402
from clinaudio_gui.engine.detector.proposal_fit import decoder_params  # noqa: E402
from clinaudio_gui.engine.detector.train import _load_net, fold_indices  # noqa: E402
from clinaudio_gui.metrics.events import event_metrics  # noqa: E402


def window_starts(n: int, L: int) -> list[int]:
    """Window starts covering ``n`` frames with windows of ``L`` at a hop of L / 2, the last
    aligned to the end (one window when n <= L)."""
    if n <= L:
        return [0]
    s = list(range(0, n - L, L // 2))
    return s + [n - L]


@torch.inference_mode()
def run(net, feats: np.ndarray, L: int | None, t_frame: float | None):
    """(frame logits (n, 8), record logits (5,), edge activity or None) of one recording; the edge
    head runs when ``t_frame`` (the frame temperature its input probabilities are scaled by) is given."""
    with_edges = t_frame is not None
    n = feats.shape[-1]
    starts = [0] if L is None else window_starts(n, L)
    L = n if L is None else min(L, n)
    fl = np.zeros((n, 8), np.float32)
    ed = np.zeros((n, 2)) if with_edges else None
    centre = np.array([s + L / 2 for s in starts])
    owner = np.argmin(np.abs(np.arange(n)[:, None] + 0.5 - centre[None, :]), axis=1)
    rls = []
    for j, s in enumerate(starts):
        x = torch.from_numpy(feats[:, :, s:s + L].astype(np.float32))[None]
        f, r, _, _, *h = net(x, return_seq=with_edges)
        f = f[0].numpy()
        rls.append(r[0].numpy())
        sel = np.where(owner == j)[0]
        fl[sel] = f[sel - s]
        if with_edges:
            from clinaudio_gui.engine.detector.edges import edge_probs
            # the edge head sees the calibrated probabilities, as in decoding
            e = edge_probs(net, h[0][0].numpy(), S.softmax(f / t_frame))
            ed[sel] = e[sel - s]
    return fl, np.mean(rls, axis=0), ed


def figures(net, m, recs, idx, hop_s, L):
    cal = m["calibration"]
    params = decoder_params(net, m["decoder"])
    ref, est, dur, rec_true, rec_probs = {}, {}, {}, [], []
    for i in idx:
        r = recs[i]
        fl, rl, ed = run(net, r.features, L, cal["t_frame"] if params.needs_edges else None)
        fp = S.softmax(fl / cal["t_frame"])
        est[r.audio] = [(e["start_s"], e["end_s"], e["label"]) for e in decode(fp, EVENT_LABELS, hop_s, params, edges=ed)]
        ref[r.audio] = [tuple(e) for e in r.events]
        dur[r.audio] = r.duration_s
        rec_true.append(r.record_label)
        rec_probs.append(S.softmax(rl / cal["t_record"]))
    ev = event_metrics(ref, est, durations_s=dur)
    off = np.asarray(cal.get("offsets", {}).get("2-2", np.zeros(len(RECORD_LABELS))))
    s22 = S.task_metrics(rec_true, np.array(rec_probs), "2-2", off)["score"]
    return {"event_f": round(ev["event_based"]["micro"]["f"], 4), "score_2_2": round(s22, 4)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--window", type=int, default=384)
    ap.add_argument("--data", default="../shared/data/sprsound/train")
    ap.add_argument("--cache", default="runs/cache")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    folds = R.fold_dirs(a.run)
    recs, hop_s = R.recordings(a.data, a.cache)
    out = {}
    for fdir in folds:
        net, m = _load_net(fdir)
        net.eval()
        _, va, te = fold_indices(recs, m)
        row = {}
        for name, L in (("whole", None), ("windows", a.window)):
            row[name] = {"val": figures(net, m, recs, va, hop_s, L), "test": figures(net, m, recs, te, hop_s, L)}
        pkg = m["metrics"]["event_f_micro"]
        if abs(row["whole"]["test"]["event_f"] - pkg) > 1e-3:
            raise SystemExit(f"{fdir.name}: whole-recording test event F {row['whole']['test']['event_f']} "
                             f"differs from the package's {pkg}")
        out[fdir.name] = row
        print(fdir.name, json.dumps(row), flush=True)
    for split in ("val", "test"):
        for name in ("whole", "windows"):
            f = [out[k][name][split]["event_f"] for k in out]
            s = [out[k][name][split]["score_2_2"] for k in out]
            print(f"{split:5s} {name:8s} event F {np.mean(f):.4f} +- {np.std(f):.4f} ({' '.join(f'{x:.3f}' for x in f)}); "
                  f"2-2 {np.mean(s):.4f}")
    R.write_json(a.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
