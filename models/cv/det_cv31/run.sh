#!/bin/bash
# run from the repository root: bash runs/det_cv31/run.sh "0 2 4" & bash runs/det_cv31/run.sh "1 3" &
# inputs: runs/det_cv31/foldK = models/cv/det_cv25/foldK with "tta_shift": 1 added to manifest.json's architecture
set -e
for K in $1; do
  .venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --out runs/det_cv31 --retune --event-head \
     --proposals --edge-head --proposal-variants thresholds+base --proposal-targets class \
     --proposal-scorers trees+network --proposal-threshold-rule smoothed --threads 1 --only-folds $K \
     > runs/det_cv31/search$K.log 2>&1
  touch runs/det_cv31/searched$K
done
