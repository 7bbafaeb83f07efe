#!/usr/bin/env bash
# CPU generation and training: PyTorch (the same networks and training step, bench/reference/stylegan_torch.py)
# first, then this project's wasm backend, on this machine one after the other, so that every ratio is measured
# in one run rather than against figures recorded elsewhere. PyTorch here is Debian's python3-torch (1.13, OpenBLAS):
#   apt-get install python3-torch python3-yaml && bash bench/reference/cpu_same_run.sh
# Settings (environment): OUT (folder of the results), PYTHON, BUDGET (seconds a case may take, ours and
# PyTorch's), TRAIN_STEPS (training steps timed per case after the warm-up), WORKERS (ours: worker processes,
# 0 = one process), MODEL_CONFIG (the default model's config, timed too; empty: skipped), GEN_RES, TRAIN_RES.
# On a machine shared with other work, OMP_WAIT_POLICY=PASSIVE keeps OpenMP's spinning threads (PyTorch's and
# OpenBLAS's) from starving each other; it is passed to both sides alike.
set -euo pipefail
OUT=${OUT:-bench/out/cpu}
PYTHON=${PYTHON:-/usr/bin/python3}
BUDGET=${BUDGET:-40}
TRAIN_STEPS=${TRAIN_STEPS:-4}
WORKERS=${WORKERS:-0}
MODEL_CONFIG=${MODEL_CONFIG-configs/ucmerced-64.yaml}
GEN_RES=${GEN_RES:-32,64,128}
TRAIN_RES=${TRAIN_RES:-32,64}
mkdir -p "$OUT"
TORCH="$OUT/torch_cpu.jsonl"
echo "# $(date -u +%FT%TZ) $(uptime)" | tee "$OUT/load.txt"

# PyTorch first: generation, training on the bench presets, the default model's config.
"$PYTHON" bench/reference/stylegan_torch.py --check tests/fixtures/stylegan-pytorch-r32 --device cpu |
  tail -n 1
"$PYTHON" bench/reference/stylegan_torch.py --bench --device cpu --res "$GEN_RES" --channels default,reduced \
  --batch 8 --json | tee "$TORCH"
"$PYTHON" bench/reference/stylegan_torch.py --train --device cpu --res "$TRAIN_RES" --channels default,reduced \
  --batch 8 --train-steps "$TRAIN_STEPS" --budget "$BUDGET" --json | tee -a "$TORCH"
if [ -n "$MODEL_CONFIG" ]; then
  "$PYTHON" bench/reference/stylegan_torch.py --train --device cpu --train-config "$MODEL_CONFIG" \
    --train-steps "$TRAIN_STEPS" --json | tee -a "$TORCH"
fi

# Then ours, against that file.
deno run -A bench/main.ts --backends wasm --tasks generate,train --res "$GEN_RES" --train-res "$TRAIN_RES" \
  --train-steps "$TRAIN_STEPS" --budget "$BUDGET" --workers "$WORKERS" --reference "$TORCH" | tee "$OUT/wasm_vs_torch_cpu.txt"
if [ -n "$MODEL_CONFIG" ]; then
  deno run -A bench/train_model_config.ts --config "$MODEL_CONFIG" --workers "$WORKERS" --steps "$TRAIN_STEPS" \
    --reference "$TORCH" | tee -a "$OUT/wasm_vs_torch_cpu.txt"
fi
echo "# $(date -u +%FT%TZ) $(uptime)" | tee -a "$OUT/load.txt"
