"""The agreement figure of docs/team.md: SPRSound's expert labels against the model's suggestions
as a second annotator, through a real team project and `clinaudio project agreement`.

    .venv/bin/python scripts/team_agreement_figure.py [--data ../shared/data/sprsound/train] [--out runs/team_agreement]
        [--suggestions FILE.jsonl]   # lines of `clinaudio detect PATH --json` (or classify --json)
        [--limit N]

Without --suggestions the bundled classifiers make them in this process, by the same code path
as `clinaudio classify --json` (events: models/classifier-1-2's sliding windows; record label:
models/classifier-2-2), one model load for all recordings. The suggestions become native
annotation files (source "model", with confidences), then: project init, add, user add expert /
model, import the SPRSound JSON as "expert" and the suggestions as "model", agreement --json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _suggestions_in_process(files: list[Path]) -> list[dict]:
    import torch
    torch.set_num_threads(1)
    from clinaudio_gui.engine.classifier.inference import Classifier
    from clinaudio_gui.io import read_audio
    ev, rec = Classifier.load(REPO / "models" / "classifier-1-2"), Classifier.load(REPO / "models" / "classifier-2-2")
    out = []
    for i, f in enumerate(files):
        y, sr = read_audio(f)
        try:
            e, r = ev.classify_recording(y, sr), rec.classify_recording(y, sr)
        except (RuntimeError, ValueError) as err:   # e.g. a recording too short for the network
            out.append({"audio": str(f), "record_label": None, "events": [], "error": str(err)[:200],
                        "source": "clinaudio classify (failed)"})
            continue
        out.append({"audio": str(f), "record_label": r["record_label"], "confidence": r["confidence"],
                    "events": e["events"], "source": "clinaudio classify (classifier-1-2 events, classifier-2-2 record)"})
        if (i + 1) % 200 == 0:
            print(f"  {i + 1}/{len(files)} recordings", file=sys.stderr)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "sprsound" / "train"))
    ap.add_argument("--out", default=str(REPO / "runs" / "team_agreement"))
    ap.add_argument("--suggestions", help="JSON lines of `clinaudio detect PATH --json`")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args()
    from clinaudio_gui.cli import main as cli
    from clinaudio_gui.core.annotations import AnnotationSet
    from clinaudio_gui.core.segment import Segment
    from clinaudio_gui.io.formats import write_annotations
    from clinaudio_gui.io.sprsound import file_stem
    data, out = Path(args.data), Path(args.out)
    files = sorted(data.glob("*.flac"))[: args.limit]
    t0 = time.time()
    if args.suggestions:
        rows = [json.loads(ln) for ln in Path(args.suggestions).read_text().splitlines() if ln.strip()]
        source = f"clinaudio detect --json ({args.suggestions})"
    else:
        rows = _suggestions_in_process(files)
        source = "clinaudio classify (classifier-1-2 events, classifier-2-2 record)"
        out.mkdir(parents=True, exist_ok=True)
        (out / "suggestions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    model_dir = out / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    for r in rows:
        stem = file_stem(r.get("audio") or r.get("path"))
        segs = [Segment(float(e["start_s"]), float(e["end_s"]), e["label"], source="model",
                        confidence=e.get("confidence"), annotator="model") for e in r.get("events", [])]
        write_annotations(model_dir / f"{stem}.clinaudio.json", AnnotationSet(segs, r.get("record_label")), "clinaudio")
    t_model = time.time() - t0
    db = out / "project.db"
    if db.exists():
        db.unlink()
    media = out / "media"            # only the chosen recordings (and their expert JSON), linked
    media.mkdir(exist_ok=True)
    for f in files:
        for src in (f, f.with_suffix(".json")):
            link = media / src.name
            if not link.exists():
                link.symlink_to(src.resolve())
    steps = [["project", "init", str(db)],
             ["project", "user", str(db), "add", "expert", "--role", "annotator"],
             ["project", "user", str(db), "add", "model", "--role", "annotator"],
             ["project", "add", str(db), str(media)],
             ["project", "import", str(db), str(media), "--from", "sprsound", "--as", "expert"],
             ["project", "import", str(db), str(model_dir), "--from", "clinaudio", "--as", "model"]]
    for s in steps:
        rc = cli(s)
        if rc:
            return rc
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli(["project", "agreement", str(db), "--annotators", "expert,model", "--json",
                  "--n-boot", str(args.n_boot)])
    if rc:
        return rc
    rep = json.loads(buf.getvalue())
    rep["suggestions_from"] = source
    rep["model_failed_on"] = [Path(r.get("audio") or r.get("path")).name for r in rows if r.get("error")]
    rep["recordings"] = len(files)
    rep["model_time_s"] = round(t_model, 1)
    (out / "agreement.json").write_text(json.dumps(rep, indent=1))
    r, ev = rep["record"], rep["pairs"][0]["events"]
    print(f"{len(files)} recordings; suggestions from {source}; the model failed on "
          f"{len(rep['model_failed_on'])} (no suggestion: record label missing, no events)")
    print(f"record label: Cohen's kappa {r['cohen_kappa']} (95% CI {r['ci95']}), n={r['n']}, "
          f"observed agreement {r['observed_agreement']}")
    print(f"events: F1 micro {ev['event_f1_micro']}, macro {ev['event_f1_macro']}; per class "
          + ", ".join(f"{k} {v['f']} (n={v['n']})" for k, v in ev["per_class"].items()))
    print(f"written: {out / 'agreement.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
