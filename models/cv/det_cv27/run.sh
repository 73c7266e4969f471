#!/bin/bash
# run from the repository root once det_cv26's folds are trained and det_cv25's decision is known:
#   bash runs/det_cv27/run.sh "0 2 4" averaged      (det_cv25 not adopted: BatchNorm statistics averaged)
#   bash runs/det_cv27/run.sh "0 2 4" reestimated   (det_cv25 adopted: re-estimated as det_cv25 did)
set -e
BN=$2
for K in $1; do
  if [ "$BN" = reestimated ]; then
    .venv/bin/python scripts/detector_soup.py runs/det_cv24 runs/det_cv26 --out runs/det_cv27_soup --weight 0.25 \
       --folds $K > runs/det_cv27/soup$K.log 2>&1
    .venv/bin/python scripts/detector_bn_update.py runs/det_cv27_soup --out runs/det_cv27 --folds $K \
       > runs/det_cv27/bn$K.log 2>&1
  elif [ "$BN" = averaged ]; then
    .venv/bin/python scripts/detector_soup.py runs/det_cv24 runs/det_cv26 --out runs/det_cv27 --weight 0.25 \
       --folds $K > runs/det_cv27/soup$K.log 2>&1
  else
    echo "second argument: averaged or reestimated" >&2; exit 2
  fi
  .venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --out runs/det_cv27 --retune --event-head \
     --proposals --edge-head --proposal-variants thresholds+base --proposal-targets class \
     --proposal-scorers trees+network --proposal-threshold-rule smoothed --threads 1 --only-folds $K \
     > runs/det_cv27/search$K.log 2>&1
  touch runs/det_cv27/searched$K
done
