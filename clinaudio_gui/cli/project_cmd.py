"""``clinaudio project ...``: team projects on SQLite or PostgreSQL (see docs/team.md).

URL: ``sqlite:///PATH`` (a plain path is SQLite too) or ``postgresql://USER@HOST:PORT/DB``
(``?schema=NAME`` for a project outside the default schema ``clinaudio``). Passwords come from
libpq's password file (PGPASSFILE or ~/.pgpass), or a prompt on a terminal; never from the URL.
Any failure (unreachable server, wrong password, missing permission, unknown recording or
annotator) is exit 2 and one line naming the URL without a password - never a traceback.
On SQLite the acting person is ``$CLINAUDIO_USER`` (default: the OS user).
"""
from __future__ import annotations

import json
import os
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("project", help="team projects in a database: people, assignment, agreement",
                              description="Team projects on SQLite or PostgreSQL (docs/team.md).")
    sub = p.add_subparsers(dest="project_command", metavar="ACTION", required=True)

    q = sub.add_parser("init", help="make a new project; you become its admin")
    q.add_argument("url", metavar="URL")
    q.add_argument("--schema", metavar="NAME", help="PostgreSQL schema of the project (default clinaudio)")
    q.add_argument("--name", help="a title for the project")
    q.set_defaults(func=cmd_init)

    q = sub.add_parser("add", help="register the recordings of a folder (sha256 + path under the media root)")
    q.add_argument("url", metavar="URL")
    q.add_argument("folder", metavar="DIR")
    q.add_argument("--media-root", metavar="DIR", help="paths are stored relative to this (default: DIR)")
    q.set_defaults(func=cmd_add)

    q = sub.add_parser("user", help="people: `user URL add NAME --role ROLE` (password from stdin), `user URL list`")
    q.add_argument("url", metavar="URL")
    q.add_argument("action", choices=("add", "list"))
    q.add_argument("name", metavar="NAME", nargs="?")
    q.add_argument("--role", choices=("annotator", "reviewer", "admin"), default="annotator")
    q.set_defaults(func=cmd_user)

    q = sub.add_parser("assign", help="assign each recording to K annotators (balanced, seeded)")
    q.add_argument("url", metavar="URL")
    q.add_argument("--annotators", required=True, metavar="A,B[,C]")
    q.add_argument("--per-recording", type=int, required=True, metavar="K")
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=cmd_assign)

    q = sub.add_parser("import", help="bring annotation files into the project as one person's labels")
    q.add_argument("url", metavar="URL")
    q.add_argument("folder", metavar="DIR")
    q.add_argument("--from", dest="from_fmt", required=True, metavar="FORMAT")
    q.add_argument("--as", dest="as_name", required=True, metavar="NAME")
    q.set_defaults(func=cmd_import)

    q = sub.add_parser("export", help="write one person's (or the consensus) labels as files")
    q.add_argument("url", metavar="URL")
    q.add_argument("out", metavar="OUT")
    q.add_argument("--to", dest="to_fmt", required=True, metavar="FORMAT")
    who = q.add_mutually_exclusive_group(required=True)
    who.add_argument("--annotator", metavar="NAME")
    who.add_argument("--consensus", action="store_true")
    q.set_defaults(func=cmd_export)

    q = sub.add_parser("agreement", help="kappa / alpha with CIs, event F1 per pair and class, confusion")
    q.add_argument("url", metavar="URL")
    q.add_argument("--annotators", metavar="A,B[,C]")
    q.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the CIs")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_agreement)

    q = sub.add_parser("status", help="recordings, people, progress per annotator, missing files")
    q.add_argument("url", metavar="URL")
    q.add_argument("--media-root", metavar="DIR")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_status)

    q = sub.add_parser("replay", help="write this client's offline journal through to the server")
    q.add_argument("url", metavar="URL")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_replay)


def _guard(fn):
    """Every failure of a project command leaves as one line (exit 2), never a traceback."""
    def run(args):
        from clinaudio_gui.core.errors import ClinAudioError
        from clinaudio_gui.store.url import StoreError, redact
        try:
            return fn(args)
        except (ClinAudioError, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as e:  # noqa: BLE001 - the contract: one line, never a traceback
            if os.environ.get("CLINAUDIO_DEBUG"):
                raise
            line = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise StoreError(f"{type(e).__name__}: {line}", path=redact(getattr(args, "url", ""))) from None
    return run


def _password_prompt(url) -> str | None:
    if url.backend != "postgresql" or not sys.stdin.isatty():
        return None
    import getpass
    return getpass.getpass(f"password for {url.user or 'you'} at {url.host or 'localhost'}: ")


def _open(url_text: str, **kw):
    from clinaudio_gui.store import ProjectStore, StoreError, parse_url
    url = parse_url(url_text)
    try:
        return ProjectStore(url, **kw)
    except StoreError as e:
        if "asks for a password" in e.problem and (pw := _password_prompt(url)):
            return ProjectStore(url, password=pw, **kw)
        raise


def _emit(obj: dict, as_json: bool, text: str) -> None:
    print(json.dumps(obj) if as_json else text)


@_guard
def cmd_init(args) -> int:
    from clinaudio_gui.store import ProjectStore
    st = ProjectStore.init(args.url, schema=args.schema, name=args.name)
    print(f"project {st.url.user_facing()} created (schema revision {st.status()['schema_revision']}); "
          f"admin: {st.me}")
    return 0


@_guard
def cmd_add(args) -> int:
    from clinaudio_gui.store.media import remember_media_root, scan_audio
    st = _open(args.url)
    root = args.media_root or args.folder
    st.require_role("admin")
    out = st.register_recordings(scan_audio(args.folder, root))
    remember_media_root(st.url.user_facing(), root)
    if not st.get_meta("media_root_hint"):
        st.set_meta("media_root_hint", os.path.abspath(root))
    print(f"{args.folder}: {out['added']} recording(s) added, {out['moved']} moved, {out['unchanged']} already "
          f"registered ({len(st.recordings())} in the project)")
    return 0


def _read_password(name: str) -> str:
    if sys.stdin.isatty():
        import getpass
        pw = getpass.getpass(f"password for {name}: ")
        if pw != getpass.getpass("again: "):
            raise ValueError("the two passwords differ")
        return pw
    return sys.stdin.readline().rstrip("\r\n")


@_guard
def cmd_user(args) -> int:
    from clinaudio_gui.store.url import StoreError
    st = _open(args.url)
    if args.action == "list":
        for p in st.people():
            print(f"{p['name']}\t{p['role']}")
        return 0
    if not args.name:
        raise StoreError("`user URL add` needs a NAME", path=st.url.display)
    password = None
    if st.url.backend == "postgresql":
        st.require_role("admin")
        password = _read_password(args.name)
        if not password:
            raise StoreError(f"no password for {args.name!r} on stdin (PostgreSQL logins need one)",
                             path=st.url.display)
    changed = st.add_person(args.name, args.role, password=password)
    print(f"{args.name}: {args.role}" + ("" if changed else " (already so)"))
    return 0


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


@_guard
def cmd_assign(args) -> int:
    from clinaudio_gui.store.exchange import assign
    st = _open(args.url)
    st.require_role("admin")
    out = assign(st, _names(args.annotators), args.per_recording, args.seed)
    print(f"{out['new_assignments']} new assignment(s) over {out['recordings']} recording(s); load: "
          + ", ".join(f"{k} {v}" for k, v in out["load"].items()))
    return 0


@_guard
def cmd_import(args) -> int:
    from clinaudio_gui.store.exchange import import_folder
    st = _open(args.url)
    out = import_folder(st, args.folder, args.from_fmt, args.as_name)
    print(f"{args.folder} ({out['format']}) as {out['as']}: {out['imported']} imported, {out['unchanged']} "
          f"unchanged")
    if out["unmatched"]:
        print(f"clinaudio: note: {out['unmatched']} file(s) match no registered recording, e.g. "
              f"{', '.join(out['unmatched_examples'])}", file=sys.stderr)
    return 0


@_guard
def cmd_export(args) -> int:
    from clinaudio_gui.store.exchange import export_sets
    from clinaudio_gui.store.models import CONSENSUS
    st = _open(args.url)
    out = export_sets(st, args.out, args.to_fmt, CONSENSUS if args.consensus else args.annotator)
    print(f"{out['written']} file(s) of {out['owner']}'s labels written to {out['folder']} ({out['format']})")
    return 0


@_guard
def cmd_agreement(args) -> int:
    from clinaudio_gui.store.agreement import project_agreement
    st = _open(args.url)
    rep = project_agreement(st, _names(args.annotators), n_boot=args.n_boot, seed=args.seed)
    if args.json:
        print(json.dumps(rep))
        return 0
    r = rep["record"]
    if "cohen_kappa" in r:
        print(f"record labels: Cohen's kappa {r['cohen_kappa']} (95% CI {r['ci95']}), n={r['n']}")
    else:
        print(f"record labels: Fleiss' kappa {r['fleiss_kappa']} (95% CI {r['fleiss_kappa_ci95']}, "
              f"n={r['fleiss_n']}); Krippendorff's alpha {r['krippendorff_alpha']} "
              f"(95% CI {r['krippendorff_alpha_ci95']}, n={r['krippendorff_n']})")
    for p in rep["pairs"]:
        ev = p.get("events") or {}
        print(f"{p['annotators'][0]} vs {p['annotators'][1]}: kappa {p['record']['cohen_kappa']} "
              f"(n={p['record']['n']}), event F1 {ev.get('event_f1_micro')} "
              + " ".join(f"{k}={v['f']}" for k, v in (ev.get("per_class") or {}).items()))
    return 0


@_guard
def cmd_status(args) -> int:
    from clinaudio_gui.store.media import media_root_for, missing_files
    st = _open(args.url)
    s = st.status()
    root = media_root_for(st.url.user_facing(), st.get_meta("media_root_hint"), args.media_root)
    miss = missing_files(st.recordings(), root)
    s["media_root"] = str(root) if root else None
    s["missing_files"] = len(miss)
    s["missing_examples"] = miss[:10]
    if args.json:
        print(json.dumps(s))
        return 0
    print(f"{s['url']} ({s['backend']}, schema {s['schema_revision']}): {s['recordings']} recordings, "
          f"{len(s['people'])} people, {s['annotation_sets']} annotation sets ({s['consensus_sets']} consensus); "
          f"you: {s['me']} ({s['role']})")
    for name, p in s["progress"].items():
        print(f"  {name}: {p['done']}/{p['assigned']} done, {p['started']} started")
    if miss:
        print(f"missing on this machine (media root {root}): {len(miss)}, e.g. {', '.join(miss[:3])}")
    return 0


@_guard
def cmd_replay(args) -> int:
    from clinaudio_gui.store.journal import JournaledStore
    st = _open(args.url)
    out = JournaledStore(st).replay()
    _emit(out, args.json, f"journal: {out['applied']} applied, {out['already_applied']} already there, "
                          f"{len(out['conflicts'])} conflict(s), {out['pending']} pending")
    return 0 if not out["conflicts"] else 1
