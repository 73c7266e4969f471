#!/bin/bash
# run from the repository root: bash runs/det_cv23/run.sh "0 2 4"
set -e
for K in $1; do
  .venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --out runs/det_cv23 --folds 5 \
     --only-folds $K --epochs 6 --lr 1e-3 --init-from runs/det_cv20 --train-only --threads 1 \
     --crop-frames 384 --seed 0 --inner-split stratified > runs/det_cv23/train$K.log 2>&1
  touch runs/det_cv23/trained$K
  mkdir -p runs/det_cv24
  .venv/bin/python scripts/detector_soup.py runs/det_cv22 runs/det_cv23 --out runs/det_cv24 --weight 0.3333333333 \
     --folds $K > runs/det_cv24/soup$K.log 2>&1
  .venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --out runs/det_cv24 --retune --event-head \
     --proposals --edge-head --proposal-variants thresholds+base --proposal-targets class \
     --proposal-scorers trees+network --proposal-threshold-rule smoothed --threads 1 --only-folds $K \
     > runs/det_cv24/search$K.log 2>&1
  touch runs/det_cv24/searched$K
done
