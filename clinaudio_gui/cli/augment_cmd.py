"""``clinaudio augment``: batch-augment a folder reproducibly, or list the transforms.

    clinaudio augment --list
    clinaudio augment --recipe naa --in DIR --out DIR [--per-file N] [--seed S]
                      [--labels-from FMT] [--workers K]

Exit codes: 0 all inputs done, 1 some inputs were unreadable (named on stderr, skipped),
2 bad arguments, 130 interrupted.
"""
from __future__ import annotations

import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "augment", help="augment a folder of recordings (with labels and a manifest), or --list the transforms",
        description="Augment every recording of --in into --out with a recipe (built-in naa / taa, or a "
                    "recipe JSON file). The same --seed gives byte-identical output. Annotations next to "
                    "each recording travel with it (moved, stretched, trimmed); manifest.jsonl records "
                    "source, output, drawn parameters, seed and software version.")
    p.add_argument("--list", action="store_true", help="list every transform with its parameters and units, "
                                                       "and the built-in recipes")
    p.add_argument("--recipe", metavar="NAME_OR_FILE", help="naa, taa, or a recipe .json")
    p.add_argument("--in", dest="in_dir", metavar="DIR", help="input folder (never modified)")
    p.add_argument("--out", dest="out_dir", metavar="DIR", help="output folder (not inside --in)")
    p.add_argument("--per-file", type=int, default=1, metavar="N", help="augmented copies per input (default 1)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--labels-from", default="auto", metavar="FMT",
                   help="annotation format next to each recording: auto (default: detect), none, sprsound, "
                        "icbhi, audacity, textgrid, raven, csv, clinaudio")
    p.add_argument("--workers", type=int, default=1, metavar="K", help="worker processes (default 1)")
    p.add_argument("--json", action="store_true", help="with --list: print JSON")
    p.set_defaults(func=cmd_augment)


def _print_list(as_json: bool) -> int:
    import json

    from clinaudio_gui.augment import BUILTIN_RECIPES, describe_transforms
    items = describe_transforms()
    if as_json:
        print(json.dumps({"transforms": items,
                          "recipes": {k: f().to_dict() for k, f in BUILTIN_RECIPES.items()}}, indent=1))
        return 0
    for dom in ("audio", "spectrogram", "any"):
        print(f"== {dom} ==" if dom != "any" else "== containers ==")
        for t in items:
            if t["domain"] != dom:
                continue
            print(f"{t['name']}: {t['summary']}")
            for q in t["params"]:
                unit = f" [{q['unit']}]" if q["unit"] else ""
                extra = f" one of {q['choices']}" if q.get("choices") else ""
                print(f"    {q['name']}{unit} = {q['default']!r}{extra}  {q['help']}")
    print("== recipes ==")
    for k, f in BUILTIN_RECIPES.items():
        r = f()
        print(f"{k} ({r.domain}): {r.description}")
    return 0


def cmd_augment(args) -> int:
    if args.list:
        return _print_list(args.json)
    missing = [flag for flag, v in (("--recipe", args.recipe), ("--in", args.in_dir), ("--out", args.out_dir))
               if not v]
    if missing:
        raise ValueError(f"augment needs {', '.join(missing)} (or --list)")
    from tqdm import tqdm

    from clinaudio_gui.augment import load_recipe
    from clinaudio_gui.augment.batch import run_batch
    recipe = load_recipe(args.recipe)
    bar = tqdm(total=None, unit="file", desc=f"augment {recipe.name}", file=sys.stderr, dynamic_ncols=True)

    def progress(done, total, name):
        if bar.total is None:
            bar.reset(total=total)
        bar.update(done - bar.n)
        bar.set_postfix_str(name[-40:], refresh=False)

    try:
        res = run_batch(recipe, args.in_dir, args.out_dir, per_file=args.per_file, seed=args.seed,
                        labels_from=args.labels_from, workers=args.workers, progress=progress)
    finally:
        bar.close()
    for rel, reason in res.skipped:
        print(f"clinaudio: skipped {rel}: {reason}", file=sys.stderr)
    print(f"augment: {res.written} file(s) from {len(res.processed)} input(s) into {args.out_dir} "
          f"in {res.seconds:.1f} s; {len(res.skipped)} skipped; manifest {res.manifest_path}")
    return 1 if res.skipped else 0
