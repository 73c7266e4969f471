"""Average the network weights of two trained detector runs, fold by fold ("model soup"): the
encoder and the frame / record heads are (1 - w) x A + w x B; the parts a retune fits (event head,
edge head, proposal scorers) are copied from B and refitted by the retune that must follow. A and
B must hold the same folds with the same split and architecture, B continued from A (a shared
start keeps the two in one basin, so their average is a network of its own, at one network's cost).
BatchNorm running means and variances are averaged like the weights, not re-estimated on data.

    .venv/bin/python scripts/detector_soup.py runs/det_cv18 runs/det_cv20 --out runs/det_cv22 [--weight 0.5]
    then, per fold K: clinaudio detect-train --data ... --out runs/det_cv22 --retune --event-head --proposals ...
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clinaudio_gui.engine.common.package import load_model_package, save_model_package  # noqa: E402
from clinaudio_gui.engine.detector.train import KIND, untuned_manifest  # noqa: E402

REFITTED = ("proposal_scorer.", "proposal_mlp.", "edge_head.", "event_head.")


def soup(ta: dict, tb: dict, w: float) -> tuple[dict, list[str]]:
    if set(ta) - set(tb) - {k for k in ta if k.startswith(REFITTED)}:
        raise ValueError(f"the two networks differ in their parameters: {sorted(set(ta) ^ set(tb))[:5]}")
    out, averaged = {}, []
    for k, v in tb.items():
        if k.startswith(REFITTED) or k not in ta:
            out[k] = v
            continue
        if ta[k].shape != v.shape:
            raise ValueError(f"{k}: shapes {tuple(ta[k].shape)} and {tuple(v.shape)} differ")
        out[k] = ((1.0 - w) * ta[k].double() + w * v.double()).to(v.dtype) if v.is_floating_point() else v
        averaged.append(k)
    return out, averaged


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--out", required=True)
    ap.add_argument("--weight", type=float, default=0.5, help="B's share (0 = A, 1 = B)")
    ap.add_argument("--folds", type=int, nargs="*", default=None)
    args = ap.parse_args(argv)
    if not 0.0 <= args.weight <= 1.0:
        raise SystemExit(f"--weight {args.weight}: must be within 0 ... 1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for fb in sorted(Path(args.b).glob("fold*/manifest.json")):
        k = fb.parent.name
        if args.folds is not None and int(k[4:]) not in args.folds:
            continue
        fa = Path(args.a) / k
        if not (fa / "manifest.json").is_file():
            raise SystemExit(f"{fa}: no fold package to average with {fb.parent}")
        ta, ma = load_model_package(fa, kind=KIND)
        tb, mb = load_model_package(fb.parent, kind=KIND)
        if sorted(ma["split"]["test_patients"]) != sorted(mb["split"]["test_patients"]) or \
                sorted(ma["split"]["inner_val_patients"]) != sorted(mb["split"]["inner_val_patients"]):
            raise SystemExit(f"{fa} and {fb.parent}: different splits; a soup needs the same fold")
        tensors, averaged = soup(ta, tb, args.weight)
        m = untuned_manifest(mb, soup={"a": str(fa), "b": str(fb.parent), "weight_b": args.weight,
                                       "averaged_tensors": len(averaged),
                                       "a_sha256": ma["weights_sha256"], "b_sha256": mb["weights_sha256"]})
        save_model_package(out / k, tensors, m)
        print(f"{k}: averaged {len(averaged)} tensors ({1 - args.weight:g} x {fa} + {args.weight:g} x {fb.parent})")
        n += 1
    if n == 0:
        raise SystemExit(f"{args.b}: no fold packages")
    (out / "soup.json").write_text(json.dumps({"a": args.a, "b": args.b, "weight_b": args.weight}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
