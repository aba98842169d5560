#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Reproduce the shipped compressed SST-2 model (samples/sst2/compressed/model.pt) from ../shared/data:
#   1. the uncompressed BERT-tiny-shape student (samples/sst2/model; retrained only with RETRAIN=1) and
#      the logit teacher, MiniLM-L6 fine-tuned on SST-2 (~20 min),
#   2. search: token importance, cluster assignment (stage 1) and ranks under the budget (stage 2),
#   3. distillation from the uncompressed student (`mcubert compress` = `mcubert search`, then `mcubert distill`),
#   4. conversion to an int8 blob and its accuracy on the C runtime (needs a converter that takes
#      clustered low-rank embeddings),
#   5. with BASELINES=1: the SVD and vocabulary-pruning baselines at the same budget and the comparison table.
#
# Everything runs on the CPU in one thread; on the shared 2-core development machine step 1 takes ~10 min,
# step 2 1-3 min, step 3 3-10 min (2 epochs; the spread is other jobs' load), each baseline the same.
#
#   samples/sst2/reproduce.sh            # WORK=/tmp/mcubert-sst2-compress by default
#   RETRAIN=1 BASELINES=1 samples/sst2/reproduce.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DATA="${MCUBERT_DATA:-$ROOT/../shared/data}"
WORK="${WORK:-/tmp/mcubert-sst2-compress}"
SEED="${SEED:-0}"
export PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}"
export MCUBERT_DATA="$DATA"
PY="${PYTHON:-python3}"
mcubert() { "$PY" -m mcubert "$@"; }  # this checkout's command line (the same as `mcubert` / `west mcubert`)
mkdir -p "$WORK"

# The compression settings of the shipped model (see samples/sst2/compressed/README.md).
COMPRESS_ARGS=(--ratio 7 --max-pos 128 --clusters 16,32,64 --importance fisher --metric fisher --unseen-share 0.02
               --epochs 2 --lr 1e-4 --emb-lr 1e-3 --kd-alpha 1.0 --kd-temperature 2 --hidden-mse 1.0
               --eval-every 500 --seed "$SEED")

# 1. the uncompressed student (the teacher)
TEACHER="$HERE/model"
if [[ "${RETRAIN:-0}" == 1 ]]; then
    TEACHER="$WORK/student"
    mcubert train --out "$TEACHER" --init-from "$DATA/weights/all-MiniLM-L6-v2" \
        --init-encoder random --init-layers spread --epochs 2 --batch-size 32 --max-len 64 --lr 5e-4 \
        --emb-lr 5e-4 --eval-every 700 --save-every 0 --seed "$SEED" --no-progress
fi

# 1b. the logit teacher: MiniLM-L6 fine-tuned on SST-2 (800 steps, ~86.6 % dev)
MINILM="$WORK/minilm-sst2"
if [[ ! -f "$MINILM/model.safetensors" ]]; then
    mcubert train --out "$MINILM" --shape minilm-l6 --init-from "$DATA/weights/all-MiniLM-L6-v2" \
        --init-encoder minilm --epochs 1 --max-steps 800 --batch-size 32 --max-len 64 --lr 5e-5 --emb-lr 5e-5 \
        --warmup 0.1 --eval-every 200 --save-every 200 --seed 0 --no-progress
fi
COMPRESS_ARGS+=(--logit-teacher "$MINILM")

# 2 + 3. search, then distillation (resumable: rerun with RESUME=1 after an interruption)
mcubert compress --teacher "$TEACHER" --out "$WORK/clustered" "${COMPRESS_ARGS[@]}" \
    --save-dtype float16 --no-progress ${RESUME:+--resume}
mkdir -p "$HERE/compressed"
cp "$WORK/clustered/model.pt" "$HERE/compressed/model.pt"
mcubert info "$HERE/compressed/model.pt"
mcubert eval "$HERE/compressed/model.pt" --engine float --data "$DATA/glue/SST-2/dev.tsv" --vocab "$HERE/model/vocab.txt"

# 4. int8 blob (shipped as compressed/model.mcub) and its accuracy on the C runtime
mcubert convert "$HERE/compressed/model.pt" -o "$HERE/compressed/model.mcub" \
    --vocab "$HERE/model/vocab.txt" --calib "$HERE/calib.txt" --max-seq-len 128
mcubert eval "$HERE/compressed/model.mcub" --data "$DATA/glue/SST-2/dev.tsv" --engine c

# 5. baselines at the same budget, and the table
if [[ "${BASELINES:-0}" == 1 ]]; then
    for m in svd prune; do
        mcubert compress --method "$m" --teacher "$TEACHER" --out "$WORK/$m" \
            "${COMPRESS_ARGS[@]}" --no-progress ${RESUME:+--resume}
    done
    "$PY" "$ROOT/benchmarks/compression.py" --runs "$WORK" --teacher "$TEACHER"
fi
