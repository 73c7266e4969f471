#!/bin/bash
# session 23 (docs/rules/session23_gan_detector.txt): folds 0 and 1, control (runs/det_cv33c) and
# GAN items (runs/det_cv33), one chain per core. Usage: bash runs/gan23_det.sh control|gan
cd /work/main
DATA=../shared/data/sprsound/train
TRAIN=".venv/bin/clinaudio detect-train --data $DATA --folds 5 --epochs 6 --lr 1e-3 --init-from models/cv/det_cv25 \
 --train-only --threads 1 --crop-frames 384 --seed 0 --inner-split stratified"
SEARCH=".venv/bin/clinaudio detect-train --data $DATA --retune --event-head --proposals --edge-head \
 --proposal-variants thresholds+base --proposal-targets class --proposal-scorers trees+network \
 --proposal-threshold-rule smoothed --threads 1"
if [ "$1" = control ]; then
  for K in 0 1; do
    echo "$(date -u +%T) control train $K"; $TRAIN --out runs/det_cv33c --only-folds $K > runs/det_cv33c/train$K.log 2>&1
  done
  for K in 0 1; do
    echo "$(date -u +%T) control search $K"; $SEARCH --out runs/det_cv33c --only-folds $K > runs/det_cv33c/search$K.log 2>&1
  done
else
  for K in 0 1; do
    while [ ! -f runs/gan23/fold$K/manifest.json ]; do sleep 20; done
    echo "$(date -u +%T) gan train $K"
    $TRAIN --out runs/det_cv33 --only-folds $K --augment gan --gan-model runs/gan23/fold$K --gan-recordings 300 \
      > runs/det_cv33/train$K.log 2>&1
  done
  for K in 0 1; do
    echo "$(date -u +%T) gan search $K"; $SEARCH --out runs/det_cv33 --only-folds $K > runs/det_cv33/search$K.log 2>&1
  done
fi
echo "$(date -u +%T) done $1"
