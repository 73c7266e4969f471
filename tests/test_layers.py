"""The layering of DESIGN.md, checked by import-linter contracts in pyproject.toml."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    exe = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(exe), "--config", str(REPO / "pyproject.toml")], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    import tomllib
    n = len(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"])
    assert n >= 7, n   # layers, no Qt / torch below, engine subsystems, classifier interface, panels, store
    assert f"Contracts: {n} kept, 0 broken" in r.stdout, r.stdout


def test_contracts_can_fail(tmp_path):
    """The check is real: a module below ui that imports Qt breaks a contract."""
    bad = REPO / "clinaudio_gui" / "dsp" / "_layer_probe_tmp.py"
    bad.write_text("import PySide6\n")
    try:
        exe = Path(sys.executable).with_name("lint-imports")
        r = subprocess.run([str(exe), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
                           cwd=REPO, capture_output=True, text=True)
        assert r.returncode != 0 and "broken" in r.stdout
    finally:
        bad.unlink()
