#!/usr/bin/env bash
# The bundled detector's recipe (scripts/detector_seed_run.sh with network seed 0: 21 + 10 + 6 epochs,
# the three-point soup, BatchNorm re-estimated) with every stage distilled from the start: the product's
# loss + 1 x the class-weighted KL divergence from the mean calibrated frame probabilities of det_cv25's
# and det_s1's fold networks (scripts/detector_distill.py; docs/rules/session29_distill_scratch.txt).
# Stage by stage the same epochs, learning rates, seeds, crops and kept epochs as detect-train's recipe.
# From the repository root, one fold per call (two calls at a time on this 2-core machine):
#   bash scripts/detector_distill_run.sh FOLD [OUT_PREFIX=runs/det_kds]
set -euo pipefail
K=$1; P=${2:-runs/det_kds}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONWARNINGS=ignore PYTHONUNBUFFERED=1
C=".venv/bin/python scripts/detector_distill.py --teachers models/cv/det_cv25 models/seed-runs/det_s1 --weight 1
   --folds $K --threads 1"
mkdir -p ${P}_logs
$C --out ${P}_a --split-from models/cv/det_cv25 --epochs 21 --lr 3e-3 --eval-from 4 > ${P}_logs/a$K.log 2>&1
$C --out ${P}_b --init ${P}_a --epochs 10 --lr 1e-3 --eval-from 1 > ${P}_logs/b$K.log 2>&1
$C --out ${P}_c --init ${P}_b --epochs 6 --lr 1e-3 --eval-from 1 > ${P}_logs/c$K.log 2>&1
.venv/bin/python scripts/detector_soup.py ${P}_a ${P}_b --out ${P}_ab --weight 0.5 --folds $K > ${P}_logs/ab$K.log 2>&1
.venv/bin/python scripts/detector_soup.py ${P}_ab ${P}_c --out ${P}_abc --weight 0.3333333333 --folds $K \
   > ${P}_logs/abc$K.log 2>&1
.venv/bin/python scripts/detector_bn_update.py ${P}_abc --out $P --folds $K > ${P}_logs/bn$K.log 2>&1
touch ${P}_logs/done$K
