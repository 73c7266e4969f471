#!/bin/bash
# session 22 (docs/rules/session22_bags.txt): per fold, the experiment (runs/det_cv32, --proposal-bags 3) and the
# control (runs/det_cv25c) at the same time, one thread each; fold 0's experiment waits for the feature cache.
cd /work/main
CMD=".venv/bin/clinaudio detect-train --data ../shared/data/sprsound/train --retune --event-head --proposals --edge-head \
 --proposal-variants thresholds+base --proposal-targets class --proposal-scorers trees+network \
 --proposal-threshold-rule smoothed --threads 1"
for K in 0 1 2 3 4; do
  echo "$(date -u +%T) fold $K start"
  $CMD --out runs/det_cv25c --only-folds $K > runs/det_cv25c/search$K.log 2>&1 &
  C=$!
  while [ ! -f runs/cache/detector-features-*.npz ] 2>/dev/null && ! ls runs/cache/detector-features-*.npz >/dev/null 2>&1; do sleep 10; done
  $CMD --out runs/det_cv32 --only-folds $K --proposal-bags 3 > runs/det_cv32/search$K.log 2>&1 &
  E=$!
  wait $C; echo "$(date -u +%T) fold $K control rc=$?"
  wait $E; echo "$(date -u +%T) fold $K experiment rc=$?"
done
echo "$(date -u +%T) all done"
