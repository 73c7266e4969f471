#!/usr/bin/env bash
# The bundled detector's training recipe (det_cv18 -> det_cv20 -> det_cv23 -> three-point soup ->
# BatchNorm re-estimated = det_cv25's networks) again with another network seed on the same folds and
# inner split (--seed 0 keeps the split; --train-seed S changes initialisation and batches). Session 25.
# From the repository root, one fold per call (two calls at a time on this 2-core machine):
#   bash scripts/detector_seed_run.sh FOLD [SEED=1] [OUT_PREFIX=runs/det_s1]
# EXTRA="..." adds training options to every stage (session 28: EXTRA="--mixup 0.5").
# Differs from det_cv18 in one way: 21 epochs by count (det_cv18's 28-minute timed schedule reached 21),
# so that a busy machine gives the same schedule.
set -euo pipefail
K=$1; S=${2:-1}; P=${3:-runs/det_s1}
D=../shared/data/sprsound/train
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONWARNINGS=ignore PYTHONUNBUFFERED=1
C=".venv/bin/clinaudio detect-train --data $D --folds 5 --only-folds $K --train-only --threads 1 --crop-frames 384
   --seed 0 --train-seed $S --inner-split stratified ${EXTRA:-}"
mkdir -p ${P}_logs
$C --out ${P}_a --epochs 21 --lr 3e-3 > ${P}_logs/a$K.log 2>&1
$C --out ${P}_b --epochs 10 --lr 1e-3 --init-from ${P}_a > ${P}_logs/b$K.log 2>&1
$C --out ${P}_c --epochs 6 --lr 1e-3 --init-from ${P}_b > ${P}_logs/c$K.log 2>&1
.venv/bin/python scripts/detector_soup.py ${P}_a ${P}_b --out ${P}_ab --weight 0.5 --folds $K > ${P}_logs/ab$K.log 2>&1
.venv/bin/python scripts/detector_soup.py ${P}_ab ${P}_c --out ${P}_abc --weight 0.3333333333 --folds $K \
   > ${P}_logs/abc$K.log 2>&1
.venv/bin/python scripts/detector_bn_update.py ${P}_abc --out $P --folds $K > ${P}_logs/bn$K.log 2>&1
touch ${P}_logs/done$K
