#!/bin/bash
# run from the repository root: bash runs/det_cv20/run.sh "0 2 4"   (the folds, in order)
set -e
for K in $1; do
  .venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --out runs/det_cv20 --folds 5 \
     --only-folds $K --epochs 10 --lr 1e-3 --init-from runs/det_cv18 --train-only --threads 1 \
     --crop-frames 384 --seed 0 --inner-split stratified > runs/det_cv20/train$K.log 2>&1
  touch runs/det_cv20/trained$K
  .venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --out runs/det_cv20 --retune --event-head \
     --proposals --edge-head --proposal-variants thresholds+base --proposal-targets class \
     --proposal-scorers trees+network --proposal-threshold-rule smoothed --threads 1 --only-folds $K \
     > runs/det_cv20/search$K.log 2>&1
  touch runs/det_cv20/searched$K
done
