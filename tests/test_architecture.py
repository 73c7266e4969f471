"""The architecture rules of docs/architecture.md: module size, no import circles, and the
subsystem contracts of pyproject.toml (each shown to fail on a probe in a copy of the package)."""
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "clinaudio_gui"
MAX_LINES = 600


def test_no_module_over_600_lines():
    too_long = {}
    for p in sorted(PKG.rglob("*.py")):
        n = len(p.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            too_long[str(p.relative_to(REPO))] = n
    assert not too_long, f"modules over {MAX_LINES} lines (split them along their seams): {too_long}"


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.find_modules_directly_imported_by(w)))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_circle_anywhere():
    """grimp sees every import, also those inside functions (the old inference <-> train circle)."""
    graph = grimp.build_graph("clinaudio_gui", cache_dir=None)
    assert "clinaudio_gui.engine.common.device" in graph.modules
    cycles = _cycles(graph)
    assert not cycles, f"import circles: {cycles}"


def test_cycle_finder_finds_a_function_level_circle():
    """The check is real: a function-level import back from common to the classifier is a circle."""
    graph = grimp.build_graph("clinaudio_gui", cache_dir=None)
    graph.add_import(importer="clinaudio_gui.engine.common.device",
                     imported="clinaudio_gui.engine.classifier.inference", line_number=1,
                     line_contents="from clinaudio_gui.engine.classifier.inference import Classifier")
    found = _cycles(graph)
    assert any("clinaudio_gui.engine.common.device" in c and "clinaudio_gui.engine.classifier.inference" in c
               for c in found), found


def test_every_side_panel_is_in_the_independence_contract():
    import tomllib
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = cfg["tool"]["importlinter"]["contracts"]
    indep = next(c for c in contracts if c["type"] == "independence" and "panel" in c["name"].lower())
    panels = {f"clinaudio_gui.ui.{p.stem}" for p in (PKG / "ui").glob("qt_*_panel.py")}
    assert panels and panels <= set(indep["modules"]), sorted(panels - set(indep["modules"]))


def _lint_copy(tmp_path: Path, edit) -> subprocess.CompletedProcess:
    """lint-imports on a copy of the package with one probe edit (the shared tree is not touched)."""
    root = tmp_path / "copy"
    shutil.copytree(PKG, root / "clinaudio_gui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    edit(root / "clinaudio_gui")
    exe = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(exe), "--config", "pyproject.toml", "--no-cache"], cwd=root,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})


@pytest.fixture(scope="module")
def clean_copy_lints(tmp_path_factory):
    """The unedited copy passes: a broken contract below is the probe's doing, not the copy's."""
    ok = _lint_copy(tmp_path_factory.mktemp("clean"), lambda d: None)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-2000:]
    assert "0 broken" in ok.stdout


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")


@pytest.mark.parametrize("probe, broken", [
    # the GAN may not import the classifier (independent siblings over engine.common)
    (lambda d: _append(d / "engine" / "gan" / "png.py", "from clinaudio_gui.engine.classifier import inference"),
     "Engine subsystems"),
    # engine.common imports no subsystem
    (lambda d: _append(d / "engine" / "common" / "metrics.py", "import clinaudio_gui.engine.gan.data"),
     "Engine subsystems"),
    # the detector reaches the classifier only through classifier.inference
    (lambda d: _append(d / "engine" / "detector" / "__init__.py", "import clinaudio_gui.engine.classifier.train"),
     "only through classifier.inference"),
    # one side panel importing another
    (lambda d: _append(d / "ui" / "qt_gan_panel.py", "import clinaudio_gui.ui.qt_live_panel"),
     "Side panels do not import each other"),
    # the store's database modules from outside the store
    (lambda d: _append(d / "cli" / "__init__.py", "import clinaudio_gui.store.db"),
     "project store is reached through its interface"),
])
def test_each_new_contract_can_fail(tmp_path, clean_copy_lints, probe, broken):
    r = _lint_copy(tmp_path, probe)
    assert r.returncode != 0, r.stdout[-3000:]
    broken_lines = [ln for ln in r.stdout.splitlines() if ln.endswith(" BROKEN")]
    assert any(broken in ln for ln in broken_lines), broken_lines


def test_test_file_basenames_are_unique_outside_test_packages():
    """tests/<dir>/ without __init__.py are imported by basename: two test_x.py would stop the
    whole run at collection (tests/engine and tests/detector both had test_train_smoke.py)."""
    seen: dict[str, Path] = {}
    clashes = []
    for p in sorted((REPO / "tests").rglob("test_*.py")):
        if (p.parent / "__init__.py").exists():
            continue
        if p.name in seen:
            clashes.append((str(seen[p.name].relative_to(REPO)), str(p.relative_to(REPO))))
        seen[p.name] = p
    assert not clashes, clashes
