#!/usr/bin/env bash
# Runs the whole test suite headless: offscreen Qt; the audio tests start their own
# private PulseAudio daemon (tests/conftest.py). Extra args go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
export PYTHONUNBUFFERED=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
.venv/bin/python -m pytest -q -p no:cacheprovider --timeout=900 "$@"
rc=$?
if [ $rc -eq 5 ]; then echo "no tests collected"; exit 1; fi
exit $rc
