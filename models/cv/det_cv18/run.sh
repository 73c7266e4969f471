#!/usr/bin/env bash
# two workers, one thread each; each fold's search waits for its network
cd "$(git rev-parse --show-toplevel)" && source .venv/bin/activate   # from the repository root
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONWARNINGS=ignore PYTHONUNBUFFERED=1
D=../shared/data/sprsound/train; O=runs/det_cv18; L=$O/logs; mkdir -p $L
train() { clinaudio detect-train --data $D --out $O --folds 5 --only-folds $1 --epochs 1000 --time-budget-min 28 \
  --train-only --threads 1 --crop-frames 384 --lr 3e-3 --seed 0 --inner-split stratified > $L/train$1.log 2>&1
  touch $O/trained$1; }
search() { while [ ! -f $O/trained$1 ]; do sleep 20; done
  clinaudio detect-train --data $D --out $O --retune --event-head --proposals --edge-head --threads 1 \
  --only-folds $1 > $L/search$1.log 2>&1; touch $O/searched$1; }
( train 0; train 2; train 4; search 1; search 3 ) &
( train 1; train 3; search 0; search 2; search 4 ) &
wait
clinaudio detect-train --data $D --out $O --retune --only-folds 99 > $L/cv.log 2>&1
echo done > $O/ALLDONE
