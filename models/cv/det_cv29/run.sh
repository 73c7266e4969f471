#!/bin/bash
# run from the repository root, two workers: bash runs/det_cv29/run.sh "0 2 4" & bash runs/det_cv29/run.sh "1 3" &
# inputs: runs/det_cv25 and runs/det_cv28 (copies of models/cv/det_cv25 and det_cv28)
set -e
for K in $1; do
  .venv/bin/python scripts/detector_soup.py runs/det_cv25 runs/det_cv28 --out runs/det_cv29_soup --weight 0.5 \
     --folds $K > runs/det_cv29/soup$K.log 2>&1
  .venv/bin/python scripts/detector_bn_update.py runs/det_cv29_soup --out runs/det_cv29 --folds $K \
     > runs/det_cv29/bn$K.log 2>&1
  .venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --out runs/det_cv29 --retune --event-head \
     --proposals --edge-head --proposal-variants thresholds+base --proposal-targets class \
     --proposal-scorers trees+network --proposal-threshold-rule smoothed --threads 1 --only-folds $K \
     > runs/det_cv29/search$K.log 2>&1
  touch runs/det_cv29/searched$K
done
