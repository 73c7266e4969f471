#!/usr/bin/env bash
# One call on a lent GPU machine (the `device` tool), prepared and smoke-tested on the CPU first.
# Everything runs at once on the one GPU, each job bounded by the same wall-clock budget:
#   - the detector's 5 patient-wise folds, twice, network training only (`detect-train --train-only
#     --time-budget-min`; the one-cycle schedule runs over the time left, whatever the speed), both
#     with the stratified inner-validation split (session 11: the random one gave fold 2 only 36
#     adventitious events to choose its decoder on):
#       det_s   the plain multi-objective loss (the control),
#       det_se  + the onset / offset loss trained into the encoder (`--edge-loss 0.5`);
#     same split and inner validation, so the CPU can pick per fold between them afterwards
#     (`detect-train --retune --event-head --proposals --edge-head` on each, then
#     scripts/detector_pick_folds.py det_s det_se); their inner validation differs from the
#     bundled folds', so neither is picked against runs/det_cv17 fold by fold;
#   - the bundled generator's own run resumed from its checkpoint (critic and optimisers included)
#     in three chunks, each chunk's package kept (FD along training), when .gpudata/gan_resume holds
#     that run (`GAN_RESUME=models/gan-runs/gan24 bash scripts/device_prepare.sh`: session 24's run, committed
#     with its checkpoint; about 10 MB: check the limit).
# Results come back as a few tarballs in $OUT (the tool brings back at most 8 files).
#
# First, here: `bash scripts/device_prepare.sh` (the audio as one lossless archive, the wheels, the
# size check; it names the tracked files to move out for the call). Then call the tool with
# carry [".gpudata", ".whl"] and timeout_s about 585:
#   BUDGET_S=530 bash scripts/device_gpu_session.sh
# Here, as a smoke test on the CPU:
#   DEV=cpu PY=.venv/bin/python DATA=/tmp/tiny BUDGET_S=150 OUT=/tmp/gpu_out bash scripts/device_gpu_session.sh
set -u
T0=$(date +%s)
BUDGET_S=${BUDGET_S:-530}          # seconds from start until the results are packed
OUT=${OUT:?OUT must name the folder for the results}
DATA=${DATA:-.gpudata/train}       # SPRSound train (FLAC + JSON); or .gpudata/train.tar.gz, unpacked
DEV=${DEV:-cuda}
PY=${PY:-python3}
W=${WORK:-/tmp/gpuw}
FOLDS=${FOLDS:-5}
GAN_RESUME=${GAN_RESUME:-.gpudata/gan_resume}   # a copy of the bundled generator's run (checkpoint/)
EDGE_LOSS=${EDGE_LOSS:-0.5}
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
mins() { $PY -c "print(max(0.2, ($(left) - $1) / 60))"; }
if [ -f "$GAN_RESUME/checkpoint/model.safetensors" ]; then   # 3 chunks, each chunk's package kept
  cp -r "$GAN_RESUME" "$W/gan_long"
  ( for c in 1 2 3; do
      m=$($PY -c "print(max(0.2, ($(left) - 40) / 60 / (4 - $c)))")
      $CLI gan train --data "$DATA" --out "$W/gan_long" --resume --ac-weight 1.0 --balance-power 0.5 \
        --batch-size 32 --cache "$W/gan_cache" --d-channels 16 --diffaug translation,cutout --epochs 100000 \
        --folds 5 --g-channels 128 --generator cbn --holdout-fold 3 --labels events --lr 0.0001 --n-critic 5 \
        --seed 0 --threads 1 --device "$DEV" --init-from "$GAN_RESUME" --max-minutes "$m" \
        >> "$W/logs/gan_long.log" 2>&1 || break
      mkdir -p "$W/gan_snap$c" && cp "$W/gan_long/model.safetensors" "$W/gan_long/manifest.json" "$W/gan_snap$c/"
    done ) &
else
  log "no $GAN_RESUME/checkpoint: the GAN is not trained in this call"
fi
$PY -c "
from clinaudio_gui.engine.detector import data as D
r = D.scan_recordings('$DATA'); D.load_features(r, cache_dir='$W/cache', workers=$(( $(nproc) - 2 )))
print(len(r), 'recordings')" > "$W/logs/features.log" 2>&1 || { cat "$W/logs/features.log"; exit 5; }
log "detector features ready ($(tail -1 "$W/logs/features.log"))"

# 2. the detector's folds: the control and the edge loss, same stratified split
for k in $(seq 0 $(( FOLDS - 1 ))); do
  for v in s se; do
    extra=""; [ "$v" = se ] && extra="--edge-loss $EDGE_LOSS"
    $CLI detect-train --data "$DATA" --out "$W/det_$v" --folds "$FOLDS" --only-folds "$k" --epochs 1000 \
      --time-budget-min "$(mins 60)" --train-only --device "$DEV" --threads 1 --cache "$W/cache" \
      --crop-frames 384 --lr 3e-3 --seed 0 --inner-split stratified $extra > "$W/logs/det_${v}_fold$k.log" 2>&1 &
  done
done
log "detector folds started (2 x $FOLDS), $(mins 60) min each"
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
pack det_s "$W"/det_s/fold*
pack det_se "$W"/det_se/fold*
pack gan_long "$W"/gan_long "$W"/gan_snap*
tar -czf "$OUT/logs.tar.gz" -C "$W" logs
ls -la "$OUT"
for f in "$W"/logs/*.log; do echo "== $f"; tail -3 "$f"; done
log "done"
