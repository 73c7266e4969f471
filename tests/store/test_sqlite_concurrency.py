"""SQLite projects: several processes saving at once (WAL, BEGIN IMMEDIATE, busy timeout) -
every save lands once, none is lost."""
import multiprocessing as mp

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.segment import Segment
from clinaudio_gui.store import ProjectStore


def _worker(url: str, who: str, rec_ids: list[int], n: int, q) -> None:
    st = ProjectStore(url, actor=who)
    versions = {r: 0 for r in rec_ids}
    for i in range(n):
        r = rec_ids[i % len(rec_ids)]
        versions[r] = st.save(r, who, AnnotationSet([Segment(0.1 * i, 0.1 * i + 1, "Wheeze")], "CAS"), versions[r],
                              op_id=f"{who}-{i}")
    q.put((who, versions))


def test_four_processes_save_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    st = ProjectStore.init(url, actor="lead")
    names = [f"ann{i}" for i in range(4)]
    for n in names:
        st.add_person(n, "annotator")
    st.register_recordings([dict(sha256=f"{i:064x}", rel_path=f"r{i}.wav", name=f"r{i}") for i in range(3)])
    ids = [r.id for r in st.recordings()]
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, n, ids, 30, q)) for n in names]
    for p in procs:
        p.start()
    results = dict(q.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert st.history_count() == 4 * 30
    for n in names:
        for r in ids:
            assert st.load(r, n).version == results[n][r] == 10
