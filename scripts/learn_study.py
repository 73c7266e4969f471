"""The labeling-effort study of docs/models.md: `clinaudio learn simulate` for every strategy and
seed, then the curves as a PNG and a table.

    .venv/bin/python scripts/learn_study.py [--data ../shared/data/sprsound/train] [--out runs/learn_sim]
        [--strategies uncertainty,diversity,random] [--seeds 0,1,2] [--budget 150] [--step 25]
        [--epochs 4] [--threads 1] [--model DIR] [--png docs/learn_curves.png] [--figure-only]

Each run's JSON goes to OUT/<strategy>-seed<k>.json (a run already there is read, not redone, so
the study can be resumed). The figure is drawn with Qt (QPainter on a QImage, offscreen): mean
event F over seeds per strategy against the number of labels, with every seed's curve faint.
The table gives mean +- std of event F and the 2-2 Score per point, and for the target of issue
#19 the fewest labels at which uncertainty sampling's mean event F reaches random sampling's
final mean event F.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
COLORS = {"uncertainty": (214, 39, 40), "diversity": (31, 119, 180), "random": (90, 90, 90)}


def run_all(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for strat in args.strategies:
            f = out / f"{strat}-{args.adapt}-seed{seed}.json"
            if f.is_file():
                continue
            cmd = [sys.executable, "-m", "clinaudio_gui.cli", "learn", "simulate", "--data", args.data,
                   "--strategy", strat, "--adapt", args.adapt, "--seed", str(seed), "--budget", str(args.budget), "--step", str(args.step),
                   "--epochs", str(args.epochs), "--threads", str(args.threads), "--json"]
            if args.model:
                cmd[-1:-1] = ["--model", args.model]
            print(" ".join(cmd[2:]), file=sys.stderr, flush=True)
            p = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
            if p.returncode:
                raise SystemExit(f"{strat} seed {seed} failed:\n{p.stderr[-2000:]}")
            tmp = f.with_suffix(".tmp")
            tmp.write_text(p.stdout)
            tmp.replace(f)


def load(out: Path) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {}
    for f in sorted(out.glob("*-seed*.json")):
        r = json.loads(f.read_text())
        runs.setdefault(f"{r['strategy']} ({r.get('adapt', 'weights')})", []).append(r)
    return runs


def table(runs: dict[str, list[dict]]) -> str:
    lines = ["| strategy | seeds | " + " | ".join(f"{p['labels']} labels" for p in
                                                 next(iter(runs.values()))[0]["curve"]) + " |"]
    lines.append("|---|---:|" + "---:|" * len(next(iter(runs.values()))[0]["curve"]))
    for strat, rs in runs.items():
        for key, name in (("event_f", "event F"), ("score", "2-2 Score")):
            m = np.array([[p[key] for p in r["curve"]] for r in rs])
            cells = " | ".join(f"{a:.3f} +- {b:.3f}" for a, b in zip(m.mean(0), m.std(0)))
            lines.append(f"| {strat} ({name}) | {len(rs)} | {cells} |")
    return "\n".join(lines)


def target(runs: dict[str, list[dict]]) -> str:
    lines = []
    for mode in sorted({k.split(" (")[1][:-1] for k in runs}):
        lines.append(f"{mode}: " + _target(runs, f"random ({mode})", f"uncertainty ({mode})"))
    return "\n".join(lines)


def _target(runs, rkey, ukey) -> str:
    if rkey not in runs or ukey not in runs:
        return "(needs both random and uncertainty runs)"
    labels = [p["labels"] for p in runs[rkey][0]["curve"]]
    rnd = np.array([[p["event_f"] for p in r["curve"]] for r in runs[rkey]]).mean(0)
    unc = np.array([[p["event_f"] for p in r["curve"]] for r in runs[ukey]]).mean(0)
    goal = rnd[-1]
    reach = next((n for n, f in zip(labels, unc) if f >= goal - 1e-9), None)
    frac = None if reach is None else reach / labels[-1]
    return (f"random's final mean event F {goal:.3f} at {labels[-1]} labels; uncertainty's mean reaches it at "
            + (f"{reach} labels ({100 * frac:.0f} % of the labels)" if reach is not None else "no point (never)")
            + f"; uncertainty's final mean {unc[-1]:.3f}; labels-0 (bundled) {rnd[0]:.3f}")


def figure(runs: dict[str, list[dict]], png: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter, QPen
    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - fonts need it
    W, H, L, R, T, B = 960, 560, 80, 240, 50, 70
    img = QImage(W, H, QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    allx = [pt["labels"] for rs in runs.values() for r in rs for pt in r["curve"]]
    ally = [pt["event_f"] for rs in runs.values() for r in rs for pt in r["curve"]]
    x0, x1 = 0, max(allx)
    y0, y1 = max(0.0, min(ally) - 0.02), max(ally) + 0.02

    def X(v):
        return L + (v - x0) / max(x1 - x0, 1e-9) * (W - L - R)

    def Y(v):
        return H - B - (v - y0) / max(y1 - y0, 1e-9) * (H - T - B)

    p.setPen(QPen(QColor("black"), 1.5))
    p.drawLine(QPointF(L, H - B), QPointF(W - R, H - B))
    p.drawLine(QPointF(L, T), QPointF(L, H - B))
    p.setFont(QFont("DejaVu Sans", 10))
    for v in sorted(set(allx)):
        p.drawLine(QPointF(X(v), H - B), QPointF(X(v), H - B + 5))
        p.drawText(QRectF(X(v) - 30, H - B + 8, 60, 18), Qt.AlignmentFlag.AlignCenter, str(v))
    for v in np.linspace(y0, y1, 6):
        p.drawLine(QPointF(L - 5, Y(v)), QPointF(L, Y(v)))
        p.drawText(QRectF(5, Y(v) - 9, L - 12, 18), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                   f"{v:.3f}")
    p.drawText(QRectF(L, H - 30, W - L - R, 20), Qt.AlignmentFlag.AlignCenter,
               "labels revealed (recordings of the pool)")
    p.save()
    p.translate(18, (H - B + T) / 2)
    p.rotate(-90)
    p.drawText(QRectF(-150, -10, 300, 20), Qt.AlignmentFlag.AlignCenter, "event F micro (held-back patients)")
    p.restore()
    p.setFont(QFont("DejaVu Sans", 12))
    p.drawText(QRectF(0, 10, W, 24), Qt.AlignmentFlag.AlignCenter,
               "Labeling effort: the detector adapted to the revealed labels (mean of seeds; seeds faint)")
    for k, (strat, rs) in enumerate(runs.items()):
        c = QColor(*COLORS.get(strat.split(" ")[0], (0, 150, 0)))
        if "weights" in strat:
            c = c.darker(160)
        faint = QColor(c)
        faint.setAlpha(70)
        for r in rs:
            p.setPen(QPen(faint, 1))
            pts = [QPointF(X(pt["labels"]), Y(pt["event_f"])) for pt in r["curve"]]
            for a, b in zip(pts, pts[1:]):
                p.drawLine(a, b)
        m = np.array([[pt["event_f"] for pt in r["curve"]] for r in rs]).mean(0)
        xs = [pt["labels"] for pt in rs[0]["curve"]]
        pen = QPen(c, 3)
        if "weights" in strat:
            pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        pts = [QPointF(X(a), Y(b)) for a, b in zip(xs, m)]
        for a, b in zip(pts, pts[1:]):
            p.drawLine(a, b)
        for q in pts:
            p.drawEllipse(q, 3.5, 3.5)
        p.drawLine(QPointF(W - R + 15, T + 20 + 24 * k), QPointF(W - R + 45, T + 20 + 24 * k))
        p.setPen(QPen(QColor("black")))
        p.setFont(QFont("DejaVu Sans", 10))
        p.drawText(QRectF(W - R + 50, T + 11 + 24 * k, R - 50, 18), Qt.AlignmentFlag.AlignLeft,
                   f"{strat} ({len(rs)})")
    p.end()
    png.parent.mkdir(parents=True, exist_ok=True)
    if not img.save(str(png)):
        raise SystemExit(f"could not write {png}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "sprsound" / "train"))
    ap.add_argument("--out", default="runs/learn_sim")
    ap.add_argument("--strategies", default="uncertainty,diversity,random")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--budget", type=int, default=150)
    ap.add_argument("--step", type=int, default=25)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--adapt", default="decoder", choices=("decoder", "weights"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default=None, help="starting detector (default: the bundled one)")
    ap.add_argument("--png", default="docs/learn_curves.png")
    ap.add_argument("--figure-only", action="store_true")
    args = ap.parse_args()
    args.strategies = args.strategies.split(",")
    args.seeds = [int(s) for s in args.seeds.split(",")]
    if not args.figure_only:
        run_all(args)
    runs = load(Path(args.out))
    if not runs:
        raise SystemExit(f"no study results in {args.out}")
    figure(runs, Path(args.png))
    print(table(runs))
    print()
    print(target(runs))
    print(f"figure: {args.png}")


if __name__ == "__main__":
    main()
