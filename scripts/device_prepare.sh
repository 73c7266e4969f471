#!/usr/bin/env bash
# Prepares what scripts/device_gpu_session.sh needs on a lent GPU machine (the `device` tool), in
# folders git ignores (.git/info/exclude), and checks that the transfer fits its 64 MiB limit:
#   .gpudata/train.tar.gz  SPRSound train, the same FLAC re-encoded at the highest level (checked
#                          sample-identical when decoded) + the JSON labels, as one archive
#   .whl/                  wheels the machine's image lacks (Python 3.12, manylinux x86-64):
#                          soundfile, cffi, pycparser, librosa and its needs, sed_eval, dcase_util
#                          (its example audio stripped), future, validators, setuptools<81
# Then it prints the tracked files to move out of the tree for the call (restore them afterwards
# with `git checkout -- .`) when tree + carried files are over the limit.
#
#   bash scripts/device_prepare.sh [DATA]      # DATA defaults to ../shared/data/sprsound/train
#   GAN_RESUME=models/gan-runs/gan24 bash scripts/device_prepare.sh   # also the GAN run to resume (about 10 MB;
#                                                                 # session 24's run, committed with its checkpoint)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/sprsound/train}
PY=${PY:-.venv/bin/python}
mkdir -p .git/info
for d in /.whl/ /.gpudata/; do grep -qxF "$d" .git/info/exclude 2>/dev/null || echo "$d" >> .git/info/exclude; done

# 1. the audio, re-encoded losslessly, as one archive
if [ ! -f .gpudata/train.tar.gz ]; then
  tmp=$(mktemp -d)
  mkdir -p "$tmp/train" .gpudata
  "$PY" - "$DATA" "$tmp/train" <<'EOF'
import glob, os, shutil, sys
import numpy as np
import soundfile as sf
src, dst = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(os.path.join(src, "*.flac")))
if not files:
    sys.exit(f"{src}: no FLAC files")
for f in files:
    y, sr = sf.read(f, dtype="int16")
    out = os.path.join(dst, os.path.basename(f))
    sf.write(out, y, sr, subtype="PCM_16", format="FLAC", compression_level=1.0)
    back, _ = sf.read(out, dtype="int16")
    if not np.array_equal(back, y):
        sys.exit(f"{f}: the re-encoded file does not decode to the same samples")
    shutil.copy(f[:-5] + ".json", dst)
print(f"{len(files)} recordings re-encoded, every one sample-identical")
EOF
  tar -czf .gpudata/train.tar.gz -C "$tmp" train
  rm -rf "$tmp"
fi

# 2. the wheels
if [ ! -d .whl ] || [ -z "$(ls .whl 2>/dev/null)" ]; then
  mkdir -p .whl
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl soundfile cffi pycparser \
    "librosa>=0.11,<1" audioread soxr pooch decorator platformdirs future validators "setuptools<81"
  "$PY" -m pip wheel -q --no-deps -w .whl sed_eval dcase_util
  w=$(ls .whl/dcase_util-*.whl)   # its example audio (1.9 MB) is not needed
  tmp=$(mktemp -d)
  (cd "$tmp" && cp "$OLDPWD/$w" . && zip -q -d ./*.whl 'dcase_util/utils/example_data/*' \
    && unzip -q -o ./*.whl '*.dist-info/RECORD' && r=$(ls -d ./*.dist-info)/RECORD \
    && grep -v example_data "$r" > R && mv R "$r" && zip -q ./*.whl "$r" && cp ./*.whl "$OLDPWD/$w")
  rm -rf "$tmp"
fi

# 2b. optionally the GAN run to resume (GAN_RESUME=models/gan-runs/gan24: its checkpoint and package)
if [ -n "${GAN_RESUME:-}" ]; then
  rm -rf .gpudata/gan_resume && mkdir -p .gpudata/gan_resume/checkpoint
  cp "$GAN_RESUME"/manifest.json "$GAN_RESUME"/model.safetensors .gpudata/gan_resume/
  cp "$GAN_RESUME"/checkpoint/manifest.json "$GAN_RESUME"/checkpoint/model.safetensors .gpudata/gan_resume/checkpoint/
fi

# 3. does it fit?
limit=$((64 * 1024 * 1024))
carried=$(du -cb .gpudata .whl | tail -1 | cut -f1)
tree=$(git ls-files -z | xargs -0 stat -c '%s' 2>/dev/null | awk '{s+=$1} END {print s}')
echo "carried $((carried / 1024)) KiB + tracked tree $((tree / 1024)) KiB; limit $((limit / 1024)) KiB"
if [ $((carried + tree)) -gt $limit ]; then
  echo "over the limit: move these (not needed on the GPU machine) out for the call, then git checkout -- ."
  echo "  docs/img docs/screenshot.png docs/learn_curves.png resources/examples models/classifier-* models/detector-sprsound"
  echo "  models/gan-sprsound-events/*.png"
fi
