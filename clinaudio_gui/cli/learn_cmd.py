"""`clinaudio learn`: the model in the loop (queue, fine-tune, versions, rollback, simulate)."""
from __future__ import annotations

import json
import signal
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("learn", help="label with the model in the loop: queue, fine-tune, versions, study")
    sub = p.add_subparsers(dest="learn_command", metavar="ACTION")
    sub.required = True

    q = sub.add_parser("queue", help="the order to label a folder's unlabeled recordings in, with the reason")
    q.add_argument("folder")
    q.add_argument("--strategy", default="uncertainty", choices=("uncertainty", "diversity", "random"))
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--model", default=None, help="detector package (default: the project's version in use)")
    q.add_argument("--include-labeled", action="store_true", help="rank the finished recordings too")
    q.add_argument("--json", action="store_true", help="one JSON object per recording per line")
    q.set_defaults(func=cmd_queue)

    f = sub.add_parser("finetune", help="fine-tune the project's detector on its finished labels (one round)")
    f.add_argument("folder", help="the project folder (its model versions live in FOLDER/.clinaudio/models)")
    f.add_argument("--store", default=None, metavar="URL",
                   help="a team project: use its consensus / majority labels (reviewer or admin)")
    f.add_argument("--media-root", default=None, help="team project: where its audio is (default: remembered)")
    f.add_argument("--adapt", default="decoder", choices=("decoder", "weights"),
                   help="decoder: choose the decoder again on the labels (measured best on SPRSound); "
                        "weights: fine-tune the network first, then the decoder")
    f.add_argument("--epochs", type=int, default=4, help="fine-tuning epochs (--adapt weights)")
    f.add_argument("--lr", type=float, default=1e-4, help="fine-tuning learning rate (--adapt weights)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--holdout", type=float, default=0.3, help="fraction of patients held back to judge")
    f.add_argument("--threads", type=int, default=1)
    f.add_argument("--progress-json", action="store_true",
                   help='progress as JSON lines on stderr: {"progress": 0.42, "stage": "..."}')
    f.add_argument("--json", action="store_true", help="the result as one JSON line (always with --progress-json)")
    f.set_defaults(func=cmd_finetune)

    v = sub.add_parser("versions", help="the project's detector versions, newest first")
    v.add_argument("folder")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_versions)

    r = sub.add_parser("rollback", help="put an earlier version (or 'bundled') back in use")
    r.add_argument("folder")
    r.add_argument("version")
    r.set_defaults(func=cmd_rollback)

    s = sub.add_parser("simulate", help="simulated labeling study: a labeling-effort curve for one strategy")
    s.add_argument("--data", required=True, help="folder of SPRSound recordings + JSON (plays the annotator)")
    s.add_argument("--strategy", default="uncertainty", choices=("uncertainty", "diversity", "random"))
    s.add_argument("--budget", type=int, default=150, help="labels revealed in all")
    s.add_argument("--step", type=int, default=25, help="labels revealed per round")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--adapt", default="decoder", choices=("decoder", "weights"),
                   help="how the detector learns from the revealed labels (see learn finetune)")
    s.add_argument("--epochs", type=int, default=4, help="fine-tuning epochs per round (--adapt weights)")
    s.add_argument("--lr", type=float, default=1e-4, help="fine-tuning learning rate (--adapt weights)")
    s.add_argument("--model", default=None, help="starting detector (default: the bundled one)")
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--cache", default="runs/cache", help="feature cache folder")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_simulate)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cmd_queue(args) -> int:
    from tqdm import tqdm

    from clinaudio_gui.core import Project
    from clinaudio_gui.engine.detector.active import analyse_recordings, rank_queue
    from clinaudio_gui.engine.detector.finetune import collect_folder_labels
    from clinaudio_gui.engine.detector.infer import load_detector
    from clinaudio_gui.engine.detector.versions import ModelVersions
    proj = Project(args.folder)
    paths = [str(p) for p in proj.recordings()]
    if not paths:
        raise ValueError(f"no audio files in {args.folder}")
    model = args.model or ModelVersions.for_project(args.folder).current_dir()
    det = load_detector(model)
    labeled = set() if args.include_labeled else {it.audio for it in collect_folder_labels(args.folder)}
    todo = [p for p in paths if p not in labeled]
    bar = tqdm(total=len(todo), unit="rec", file=sys.stderr, disable=len(todo) < 2)
    res = analyse_recordings(det, todo, progress=lambda i, n: bar.update(1))
    bar.close()
    order = rank_queue(res, args.strategy, seed=args.seed)
    for rank, it in enumerate(order, 1):
        if args.json:
            print(json.dumps({"rank": rank, "audio": it.audio, "score": it.score, "reason": it.reason,
                              "model": res[it.audio].get("model", det.version)}))
        else:
            print(f"{rank:4d}  {it.score:6.3f}  {it.audio}  ({it.reason})")
    return 2 if any("error" in r for r in res.values()) else 0


class _Cancel:
    def __init__(self):
        self.flag = False
        signal.signal(signal.SIGTERM, self._set)

    def _set(self, *_):
        self.flag = True

    def __call__(self) -> bool:
        return self.flag


def cmd_finetune(args) -> int:
    from clinaudio_gui.engine.detector.finetune import (collect_folder_labels, collect_team_labels,
                                                        finetune_round)
    from clinaudio_gui.engine.detector.versions import ModelVersions
    cancel = _Cancel()
    as_json = args.json or args.progress_json

    def progress(frac, stage):
        if args.progress_json:
            print(json.dumps({"progress": round(float(frac), 3), "stage": stage}), file=sys.stderr, flush=True)

    if args.store:
        from clinaudio_gui.cli.project_cmd import _open
        from clinaudio_gui.store.media import media_root_for
        st = _open(args.store)
        root = media_root_for(st.url.user_facing(), st.get_meta("media_root_hint"), args.media_root)
        items = collect_team_labels(st, root)
        st.close()
    else:
        items = collect_folder_labels(args.folder)
    progress(0.0, f"{len(items)} labeled recordings")
    versions = ModelVersions.for_project(args.folder)
    res = finetune_round(versions, items, epochs=args.epochs, seed=args.seed, holdout_fraction=args.holdout,
                         progress=progress, should_stop=cancel, threads=args.threads, mode=args.adapt, lr=args.lr)
    if res.get("cancelled"):
        print(json.dumps(res) if as_json else "fine-tuning cancelled; nothing changed", flush=True)
        return 3
    print(json.dumps(res) if as_json else res["decision"], flush=True)
    return 0


def cmd_versions(args) -> int:
    from clinaudio_gui.engine.detector.versions import ModelVersions
    mv = ModelVersions.for_project(args.folder)
    rows = mv.list()
    if args.json:
        print(json.dumps({"current": mv.current(), "versions": rows}))
        return 0
    print(f"in use: {mv.current()}")
    for v in rows:
        c, k = v["scores"]["candidate"], v["scores"]["current"]
        print(f"{v['version']}  {v['status']:<10}  {v['n_labels']:4d} labels  from {v['parent']:<8} "
              f"criterion {c['criterion']:.3f} (was {k['criterion']:.3f})  {v['created_utc']}")
    return 0


def cmd_rollback(args) -> int:
    from clinaudio_gui.engine.detector.versions import ModelVersions
    mv = ModelVersions.for_project(args.folder)
    mv.rollback(args.version)
    print(f"in use: {mv.current()} ({mv.current_dir()})")
    return 0


def cmd_simulate(args) -> int:
    from tqdm import tqdm

    from clinaudio_gui.engine.detector.simulate import simulate
    bar = tqdm(total=None, unit="round", file=sys.stderr)

    def progress(k, n):
        bar.total = n
        bar.n = k
        bar.refresh()

    try:
        res = simulate(args.data, args.strategy, budget=args.budget, step=args.step, seed=args.seed,
                       base_dir=args.model, epochs=args.epochs, threads=args.threads, cache_dir=args.cache,
                       mode=args.adapt, lr=args.lr,
                       progress=progress, log=lambda m: bar.write(m, file=sys.stderr))
    finally:
        bar.close()
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{res['strategy']} (seed {res['seed']}): labels -> event F / 2-2 Score")
        for p in res["curve"]:
            print(f"  {p['labels']:4d}  {p['event_f']:.3f}  {p['score']:.3f}")
    return 0
