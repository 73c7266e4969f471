"""scripts/gan_fid_table.py: the per-class table and the --group summary (seeds of one design)
computed from `gan fid --json` output; a group naming an absent generator is an error (exit 2)."""
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gan_fid_table.py"


def _fid(path: Path, fds: dict, ags: dict) -> None:
    classes = ["Normal", "Rhonchi", "Wheeze", "Fine Crackle"]
    per = {c: {"n_real_events": 10, "fd": {m: fds[m][i] for m in fds}, "agreement": {m: ags[m][i] for m in ags},
               "agreement_real": 0.8, "fd_real_heldout": 10.0, "n_real_patches": 10} for i, c in enumerate(classes)}
    path.write_text(json.dumps({"models": list(fds), "per_class": per}))


def test_groups(tmp_path):
    f = tmp_path / "fid.json"
    fds = {"a1": [10, 10, 10, 10], "a2": [12, 12, 12, 12], "b1": [20, 20, 20, 20], "b2": [24, 24, 24, 24]}
    ags = {"a1": [0.8] * 4, "a2": [0.6] * 4, "b1": [0.5] * 4, "b2": [0.3] * 4}
    _fid(f, fds, ags)
    p = subprocess.run([sys.executable, str(SCRIPT), str(f), "--group", "A=a1,a2", "--group", "B=b1,b2"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "A (2): mean FD 11.0 +- 1.4; mean agreement 0.700 +- 0.141" in p.stdout
    assert "B (2): mean FD 22.0 +- 2.8; mean agreement 0.400 +- 0.141" in p.stdout
    assert "A - B, mean FD: -11.000" in p.stdout and "A - B, mean agreement: +0.300" in p.stdout
    assert "| Normal | 10 | 10.0 (1.00) | 12.0 (1.20) | 20.0 (2.00) | 24.0 (2.40) |" in p.stdout
    bad = subprocess.run([sys.executable, str(SCRIPT), str(f), "--group", "A=a1,zz"], capture_output=True, text=True)
    assert bad.returncode == 2 and "zz" in bad.stderr and bad.stdout == ""
    bad2 = subprocess.run([sys.executable, str(SCRIPT), str(f), "--group", "A"], capture_output=True, text=True)
    assert bad2.returncode == 2 and "NAME=M1,M2" in bad2.stderr
