#!/bin/bash
# run from the repository root: bash runs/det_cv22/run.sh "0 2 4"   (the folds, in order)
set -e
for K in $1; do
  .venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --out runs/det_cv22 --retune --event-head \
     --proposals --edge-head --proposal-variants thresholds+base --proposal-targets class \
     --proposal-scorers trees+network --proposal-threshold-rule smoothed --threads 1 --only-folds $K \
     > runs/det_cv22/search$K.log 2>&1
  touch runs/det_cv22/searched$K
done
