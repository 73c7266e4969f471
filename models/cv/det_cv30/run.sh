#!/bin/bash
# run from the repository root, one chain per core, e.g.
#   bash runs/det_cv30/run.sh "train:0 train:2 search:0 search:2 search:4" &
#   bash runs/det_cv30/run.sh "train:1 train:3 train:4 search:1 search:3" &
# a search waits until its fold is trained (the marker runs/det_cv30/trainedK)
set -e
for STEP in $1; do
  K=${STEP#*:}
  if [ "${STEP%%:*}" = train ]; then
    .venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --out runs/det_cv30 --folds 5 \
       --only-folds $K --epochs 6 --lr 1e-3 --swa --init-from runs/det_cv25 --train-only --threads 1 \
       --crop-frames 576 --seed 0 --inner-split stratified > runs/det_cv30/train$K.log 2>&1
    touch runs/det_cv30/trained$K
  else
    while [ ! -e runs/det_cv30/trained$K ]; do sleep 20; done
    .venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --out runs/det_cv30 --retune \
       --event-head --proposals --edge-head --proposal-variants thresholds+base --proposal-targets class \
       --proposal-scorers trees+network --proposal-threshold-rule smoothed --threads 1 --only-folds $K \
       > runs/det_cv30/search$K.log 2>&1
    touch runs/det_cv30/searched$K
  fi
done
