#!/bin/bash
# run from the repository root: bash runs/det_cv25/run.sh "0 1 2 3 4"
set -e
for K in $1; do
  .venv/bin/python scripts/detector_bn_update.py runs/det_cv24 --out runs/det_cv25 --folds $K \
     > runs/det_cv25/bn$K.log 2>&1
  .venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --out runs/det_cv25 --retune --event-head \
     --proposals --edge-head --proposal-variants thresholds+base --proposal-targets class \
     --proposal-scorers trees+network --proposal-threshold-rule smoothed --threads 1 --only-folds $K \
     > runs/det_cv25/search$K.log 2>&1
  touch runs/det_cv25/searched$K
done
