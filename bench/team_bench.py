"""Team store under load: N annotator processes saving at once against a real PostgreSQL server.

    .venv/bin/python bench/team_bench.py [--annotators 8] [--seconds 60] [--url postgresql://ADMIN@HOST:PORT/DB]

Without --url a throwaway server is started in a temporary folder (as the postgres user when
run as root, as the tests do). Each annotator is its own process connected as its own login role
(row-level security on); it loops: take one of its assigned recordings, change its labels (about
20 segments) and save on the version it last saw, timing each save. Every acknowledged save
(operation id, version) is written down by the process; afterwards the server's history must hold
exactly those operations - none lost, none doubled - and each set's version and content must be
the last acknowledged one. Reported: saves, saves/s, p50/p95/p99 save latency (ms).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def start_server(root: Path) -> tuple[str, int, callable]:
    import glob
    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent
    as_root = os.geteuid() == 0
    os.chmod(root, 0o755)
    (root / "pw").write_text(uuid.uuid4().hex)
    if as_root:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pw", "postgres")

    def pg(*args):
        cmd = [str(bindir / args[0]), *args[1:]]
        subprocess.run(["runuser", "-u", "postgres", "--", *cmd] if as_root else cmd, check=True,
                       capture_output=True, cwd=root)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    pg("initdb", "-D", str(root / "pg"), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
       f"--pwfile={root / 'pw'}")
    pg("pg_ctl", "-D", str(root / "pg"), "-l", str(root / "log"), "-w", "start", "-o",
       f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=100")
    return "127.0.0.1", port, lambda: pg("pg_ctl", "-D", str(root / "pg"), "-m", "fast", "-w", "stop")


def annotator(url: str, name: str, seconds: float, seed: int, out_path: str, start_at: float,
              pause_s: float = 0.0) -> None:
    from clinaudio_gui.core.annotations import AnnotationSet
    from clinaudio_gui.core.segment import Segment
    from clinaudio_gui.store import ProjectStore
    st = ProjectStore(url)
    rng = np.random.default_rng(seed)
    mine = st.queue(include_done=True)
    versions = {r.id: 0 for r in mine}
    acks = []
    while time.time() < start_at:
        time.sleep(0.005)
    t_end = time.time() + seconds
    while time.time() < t_end:
        rec = mine[int(rng.integers(len(mine)))]
        n = int(rng.integers(10, 30))
        starts = np.sort(rng.uniform(0, 9, n))
        segs = [Segment(float(s), float(s + rng.uniform(0.1, 1.0)), str(rng.choice(["Wheeze", "Fine Crackle",
                                                                                      "Rhonchi", "Normal"])))
                for s in starts]
        a = AnnotationSet(segs, str(rng.choice(["Normal", "CAS", "DAS"])))
        op = uuid.uuid4().hex
        t0 = time.perf_counter()
        v = st.save(rec.id, name, a, versions[rec.id], op_id=op)
        dt = time.perf_counter() - t0
        versions[rec.id] = v
        acks.append({"op": op, "rec": rec.id, "version": v, "ms": dt * 1000.0, "content": a.to_dict()})
        if pause_s:
            time.sleep(rng.uniform(0, 2 * pause_s))   # an annotator's think time between saves
    Path(out_path).write_text(json.dumps(acks))
    st.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--annotators", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--recordings", type=int, default=40)
    ap.add_argument("--pause-ms", type=float, default=0.0,
                    help="mean pause between one annotator's saves (0: save back to back, a saturation test)")
    ap.add_argument("--url", help="an existing server (admin URL); default: a throwaway one")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="team-bench-"))
    tmp.chmod(0o711)          # the server (postgres user) must reach its folder inside
    stop = None
    passfile = tmp / "pgpass"
    lines = []
    if args.url is None:
        srvdir = tmp / "srv"
        srvdir.mkdir()
        host, port, stop = start_server(srvdir)
        lead_pw = uuid.uuid4().hex
        subprocess.run(["psql", "-h", str(srvdir), "-p", str(port), "-U", "postgres", "-d", "postgres", "-c",
                        f"CREATE ROLE lead LOGIN CREATEROLE PASSWORD '{lead_pw}'", "-c",
                        "CREATE DATABASE lab OWNER lead"], check=True, capture_output=True)
        lines.append(f"{host}:{port}:*:lead:{lead_pw}")
        base = f"postgresql://lead@{host}:{port}/lab"
    else:
        base = args.url
    passfile.write_text("\n".join(lines) + "\n")
    passfile.chmod(0o600)
    if lines:
        os.environ["PGPASSFILE"] = str(passfile)
    os.environ["CLINAUDIO_JOURNAL_DIR"] = str(tmp / "journal")
    try:
        from clinaudio_gui.store import ProjectStore
        from clinaudio_gui.store.exchange import assign
        from clinaudio_gui.store.url import parse_url
        schema = "bench" + uuid.uuid4().hex[:6]
        admin = ProjectStore.init(base, schema=schema)
        url = admin.url.user_facing()
        names = [f"ann{i}_{schema}" for i in range(args.annotators)]
        pu = parse_url(url)
        for n in names:
            pw = uuid.uuid4().hex
            admin.add_person(n, "annotator", password=pw)
            with open(passfile, "a") as f:
                f.write(f"{pu.host}:{pu.port}:*:{n}:{pw}\n")
        admin.register_recordings([dict(sha256=uuid.uuid4().hex + uuid.uuid4().hex, rel_path=f"r{i}.wav",
                                         name=f"r{i}", duration_s=10.0) for i in range(args.recordings)])
        assign(admin, names, min(2, len(names)), seed=0)
        start_at = time.time() + 3.0
        ctx = mp.get_context("spawn")
        procs = []
        for i, n in enumerate(names):
            u = url.replace("lead@", f"{n}@")
            p = ctx.Process(target=annotator, args=(u, n, args.seconds, i, str(tmp / f"{n}.json"), start_at,
                                                           args.pause_ms / 1000.0))
            p.start()
            procs.append(p)
        for p in procs:
            p.join()
        bad = [p.exitcode for p in procs if p.exitcode != 0]
        if bad:
            print(f"annotator processes failed: exit codes {bad}")
            return 1
        # verify: every acknowledged save is in the history exactly once; final state = last ack
        import sqlalchemy as sa
        from clinaudio_gui.store import models as m
        acks = {n: json.loads((tmp / f"{n}.json").read_text()) for n in names}
        with admin.engine.connect() as c:
            hist = c.execute(sa.select(m.history.c.op_id, m.history.c.owner, m.history.c.version,
                                       m.history.c.recording_id)).all()
        hist_ops = [h.op_id for h in hist]
        ack_ops = [a["op"] for v in acks.values() for a in v]
        lost = set(ack_ops) - set(hist_ops)
        doubled = len(hist_ops) - len(set(hist_ops))
        extra = set(hist_ops) - set(ack_ops)
        wrong_final = 0
        from clinaudio_gui.store.service import canonical
        for n, lst in acks.items():
            last = {}
            for a in lst:
                last[a["rec"]] = a
            for rid, a in last.items():
                ls = admin.load(rid, n)
                if ls.version != a["version"] or canonical(ls.annotations) != canonical(a["content"]):
                    wrong_final += 1
        ms = np.array([a["ms"] for v in acks.values() for a in v])
        res = {"annotators": args.annotators, "seconds": args.seconds, "pause_ms": args.pause_ms, "saves": int(len(ms)),
               "saves_per_s": round(len(ms) / args.seconds, 1),
               "p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
               "p99_ms": round(float(np.percentile(ms, 99)), 1), "lost": len(lost), "doubled": doubled,
               "unacknowledged_in_history": len(extra), "wrong_final_sets": wrong_final,
               "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()}
        print(json.dumps(res))
        ok = not lost and not doubled and not extra and not wrong_final
        print("PASS" if ok and res["p95_ms"] < 100 else "FAIL", "(target: 0 lost, 0 doubled, p95 < 100 ms)")
        admin.close()
        return 0 if ok else 1
    finally:
        if stop:
            stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
