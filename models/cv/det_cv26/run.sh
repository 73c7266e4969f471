#!/bin/bash
# run from the repository root: bash runs/det_cv26/run.sh "0 1 2 3 4"
set -e
for K in $1; do
  .venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --out runs/det_cv26 --folds 5 \
     --only-folds $K --epochs 6 --lr 1e-3 --init-from runs/det_cv23 --train-only --threads 1 \
     --crop-frames 384 --seed 0 --inner-split stratified > runs/det_cv26/train$K.log 2>&1
  touch runs/det_cv26/trained$K
done
