"""Test-patient Scores with and without the "no breathing cycle found" rule
(docs/rules/session20_breath_evidence.txt), from scripts/detector_breath_evidence.py's outputs:
per fold, 2-1 and 2-2 Scores (SPRSound's, engine/common/metrics.py) of the label the product gave,
and of the label with the rule applied (a recording passing the signal gate with no decoded event
becomes Poor Quality); how labels change; ESC-10 / ICBHI: non-lung clips with an adventitious label.

    .venv/bin/python scripts/detector_breath_evidence_table.py runs/nogate --set test
"""
import argparse
import collections
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clinaudio_gui.engine.common.data import TASKS, to_task_label  # noqa: E402
from clinaudio_gui.engine.common.metrics import all_metrics  # noqa: E402

ADV = set(TASKS["2-1"]["merge"]["Adventitious"])


def with_rule(r: dict) -> str:
    if r["quality"] == "ok" and not r["events"]:
        return "Poor Quality"
    return r["record_label"]


def task_scores(truth: list[str], pred: list[str]) -> tuple[float, float]:
    """SPRSound 2-1 and 2-2 Scores of record labels (the 2-2 classes)."""
    out = []
    for task in ("2-1", "2-2"):
        labels = TASKS[task]["labels"]
        t = [labels.index(to_task_label(x, task)) for x in truth]
        p = [labels.index(to_task_label(x, task)) for x in pred]
        out.append(all_metrics(t, p, labels)["score"])
    return out[0], out[1]


def scores(rows, key) -> tuple[float, float]:
    return task_scores([r["truth"] for r in rows], [key(r) for r in rows])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--set", default="test", choices=("test", "val"))
    a = ap.parse_args(argv)
    d = Path(a.folder)
    print("| fold | recordings | changed | 2-1 before | 2-1 with rule | 2-2 before | 2-2 with rule |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    b21, a21, b22, a22 = [], [], [], []
    changes = collections.Counter()
    for k in range(5):
        p = d / f"f{k}_{a.set}.jsonl"
        if not p.exists():
            continue
        rows = [json.loads(line) for line in open(p)]
        s0, s1 = scores(rows, lambda r: r["record_label"]), scores(rows, with_rule)
        n = sum(with_rule(r) != r["record_label"] for r in rows)
        for r in rows:
            if with_rule(r) != r["record_label"]:
                changes[(r["truth"], r["record_label"])] += 1
        b21.append(s0[0]); a21.append(s1[0]); b22.append(s0[1]); a22.append(s1[1])
        print(f"| {k} | {len(rows)} | {n} | {s0[0]:.3f} | {s1[0]:.3f} | {s0[1]:.3f} | {s1[1]:.3f} |")
    if b21:
        m = lambda v: f"{np.mean(v):.4f} +- {np.std(v):.3f}"   # noqa: E731
        print(f"| mean +- std | | {sum(changes.values())} | {m(b21)} | {m(a21)} | {m(b22)} | {m(a22)} |")
        print(f"\nchange of the mean: 2-1 {np.mean(a21) - np.mean(b21):+.4f}, 2-2 {np.mean(a22) - np.mean(b22):+.4f}")
        print("recordings that change (truth <- label before; all become Poor Quality):")
        for (t, l), c in sorted(changes.items(), key=lambda kv: -kv[1]):
            print(f"  truth {t:12s} label before {l:12s} {c}")
    for name in ("esc", "icbhi"):
        p = d / f"{name}.jsonl"
        if p.exists():
            rows = [json.loads(line) for line in open(p)]
            before = sum(r["record_label"] in ADV for r in rows)
            after = sum(with_rule(r) in ADV for r in rows)
            print(f"{name}: {len(rows)} recordings, adventitious label before {before}, with the rule {after}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
