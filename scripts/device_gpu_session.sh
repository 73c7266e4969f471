#!/usr/bin/env bash
# One call on a lent GPU machine (the `device` tool), prepared and smoke-tested on the CPU first.
# Everything runs at once on the one GPU, each job bounded by the same wall-clock budget:
#   - the detector's 5 patient-wise folds, network training only (`detect-train --train-only
#     --time-budget-min`): the one-cycle schedule runs over the time left, whatever the speed;
#     the calibration / decoder / event-head / proposal search runs later on the CPU
#     (`detect-train --retune --event-head --proposals`);
#   - the GAN's SE vs no-SE ablation, 3 seeds each at equal steps (--epochs GAN_EPOCHS);
#   - the bundled generator continued (--init-from) for as many steps as the time allows.
# Results come back as a few tarballs in $OUT (the tool brings back at most 8 files).
#
# First, here: `bash scripts/device_prepare.sh` (the audio as one lossless archive, the wheels, the
# size check; it names the tracked files to move out for the call). Then call the tool with
# carry [".gpudata", ".whl"] and timeout_s about 585:
#   BUDGET_S=530 bash scripts/device_gpu_session.sh
# Here, as a smoke test on the CPU:
#   DEV=cpu PY=.venv/bin/python DATA=/tmp/tiny BUDGET_S=150 GAN_EPOCHS=1 OUT=/tmp/gpu_out bash scripts/device_gpu_session.sh
set -u
T0=$(date +%s)
BUDGET_S=${BUDGET_S:-530}          # seconds from start until the results are packed
OUT=${OUT:?OUT must name the folder for the results}
DATA=${DATA:-.gpudata/train}       # SPRSound train (FLAC + JSON); or .gpudata/train.tar.gz, unpacked
DEV=${DEV:-cuda}
PY=${PY:-python3}
W=${WORK:-/tmp/gpuw}
FOLDS=${FOLDS:-5}
GAN_EPOCHS=${GAN_EPOCHS:-80}       # 34 generator steps per epoch on SPRSound events
GAN_INIT=${GAN_INIT:-models/gan-sprsound-events}
mkdir -p "$W/logs" "$OUT"
if [ ! -d "$DATA" ] && [ -f .gpudata/train.tar.gz ]; then   # the audio travels as one archive
  mkdir -p "$W/data" && tar -xzf .gpudata/train.tar.gz -C "$W/data" && DATA=$W/data/train
fi
left() { echo $(( T0 + BUDGET_S - $(date +%s) )); }
log() { echo "[$(( $(date +%s) - T0 ))s] $*"; }

if [ -d .whl ] && [ "$DEV" != cpu ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
$PY -c "import torch, sed_eval, soundfile, librosa, sklearn, clinaudio_gui.cli; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" || exit 4
if [ "$DEV" = cuda ]; then
  nvidia-smi -L
  if command -v nvidia-cuda-mps-control >/dev/null; then   # lets the small jobs' kernels run side by side
    export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps CUDA_MPS_LOG_DIRECTORY=/tmp/mpslog
    mkdir -p /tmp/mps /tmp/mpslog
    if nvidia-cuda-mps-control -d && timeout 25 $PY -c "import torch; torch.ones(1, device='cuda').sum().item()"; then
      log "MPS on"
    else
      echo quit | timeout 10 nvidia-cuda-mps-control; unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
      log "MPS unavailable: plain time-slicing"
    fi
  fi
fi
CLI="$PY -m clinaudio_gui.cli"

# 1. data: the GAN's mel cache (built by the first GAN job) and the detector's features (parallel)
GAN_COMMON="--data $DATA --holdout-fold 3 --folds 5 --cache $W/gan_cache --threads 1 --device $DEV"
mins() { $PY -c "print(max(0.2, ($(left) - $1) / 60))"; }
$CLI gan train $GAN_COMMON --out "$W/gan_long" --init-from "$GAN_INIT" --epochs 100000 \
  --max-minutes "$(mins 120)" --seed 0 > "$W/logs/gan_long.log" 2>&1 &
$PY -c "
from clinaudio_gui.engine.detector import data as D
r = D.scan_recordings('$DATA'); D.load_features(r, cache_dir='$W/cache', workers=$(( $(nproc) - 2 )))
print(len(r), 'recordings')" > "$W/logs/features.log" 2>&1 || { cat "$W/logs/features.log"; exit 5; }
log "detector features ready ($(tail -1 "$W/logs/features.log"))"

# 2. the detector's folds
for k in $(seq 0 $(( FOLDS - 1 ))); do
  $CLI detect-train --data "$DATA" --out "$W/det" --folds "$FOLDS" --only-folds "$k" --epochs 1000 \
    --time-budget-min "$(mins 60)" --train-only --device "$DEV" --threads 1 --cache "$W/cache" \
    --crop-frames 384 --lr 3e-3 --seed 0 > "$W/logs/det_fold$k.log" 2>&1 &
done
log "detector folds started, $(mins 60) min each"

# 3. the GAN ablation once the mel cache is there
while [ -z "$(ls "$W"/gan_cache/mels-*.npz 2>/dev/null)" ] && [ "$(left)" -gt 90 ]; do sleep 2; done
log "GAN cache: $(ls "$W"/gan_cache 2>/dev/null)"
for s in 0 1 2; do
  $CLI gan train $GAN_COMMON --out "$W/gan_se_s$s" --epochs "$GAN_EPOCHS" --seed "$s" \
    --max-minutes "$(mins 70)" > "$W/logs/gan_se_s$s.log" 2>&1 &
  $CLI gan train $GAN_COMMON --out "$W/gan_nose_s$s" --no-se --epochs "$GAN_EPOCHS" --seed "$s" \
    --max-minutes "$(mins 70)" > "$W/logs/gan_nose_s$s.log" 2>&1 &
done
( sleep 90; nvidia-smi > "$W/logs/nvidia_smi.txt" 2>&1 ) &

# 4. wait, then pack whatever is done
while [ -n "$(jobs -rp)" ] && [ "$(left)" -gt 15 ]; do sleep 3; done
if [ -n "$(jobs -rp)" ]; then log "time: stopping $(jobs -rp | wc -l) jobs"; kill $(jobs -rp) 2>/dev/null; sleep 2; fi
log "packing"
pack() {  # pack NAME DIR... : the top-level files of each package folder (no checkpoints or samples)
  local name=$1; shift
  local files=()
  for d in "$@"; do for f in "$d"/*.json "$d"/*.safetensors; do [ -f "$f" ] && files+=("${f#$W/}"); done; done
  [ ${#files[@]} -gt 0 ] && tar -czf "$OUT/$name.tar.gz" -C "$W" "${files[@]}"
}
pack det "$W"/det/fold*
pack gan_se "$W"/gan_se_s*
pack gan_nose "$W"/gan_nose_s*
pack gan_long "$W"/gan_long
tar -czf "$OUT/logs.tar.gz" -C "$W" logs
ls -la "$OUT"
for f in "$W"/logs/*.log; do echo "== $f"; tail -3 "$f"; done
log "done"
