#!/usr/bin/env bash
# Creates the virtual environment and installs ClinAudio into it.
# torch is pinned and installed FIRST so that nothing pulls a CUDA build (see STACK.md).
set -euo pipefail
PY=${1:-python3}
VENV=${2:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "ClinAudio: creating $VENV"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$VPY" -m pip install -q --upgrade pip "setuptools<81" wheel   # <81: sed_eval's dcase_util needs pkg_resources
"$VPY" -m pip install -q "torch==2.13.0"
"$VPY" -m pip install -q -e ".[dev]"
"$VPY" -c "import torch, PySide6, pyqtgraph, librosa, soundfile; print('ClinAudio: environment ready (torch', torch.__version__ + ')')"
