#!/bin/bash
# run from the repository root: bash runs/det_cv19/run.sh
set -e
for K in 0 1 2 3 4; do
  .venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --out runs/det_cv19 --retune \
     --keep-decoder --proposals --edge-head --proposal-variants thresholds+base --proposal-targets class \
     --proposal-scorers trees+network --proposal-threshold-rule smoothed --threads 1 --only-folds $K \
     > runs/det_cv19/retune$K.log 2>&1
  touch runs/det_cv19/searched$K
done
.venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --out runs/det_cv19 --retune --only-folds 99 \
   > runs/det_cv19/aggregate.log 2>&1
touch runs/det_cv19/ALLDONE
