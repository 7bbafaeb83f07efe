#!/usr/bin/env bash
# CPU generation: this project's wasm backend and PyTorch (the same generator, bench/reference/stylegan_torch.py)
# timed one after the other on this machine, so that the ratio is measured in one run rather than against
# figures recorded elsewhere. PyTorch here is Debian's python3-torch (1.13, OpenBLAS):
#   apt-get install python3-torch && bash bench/reference/cpu_same_run.sh
set -euo pipefail
OUT=${OUT:-bench/out/cpu}
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p "$OUT"
"$PYTHON" bench/reference/stylegan_torch.py --bench --device cpu --res 32,64,128 --channels default,reduced \
  --batch 8 --json | tee "$OUT/torch_cpu.jsonl"
deno run -A bench/main.ts --backends wasm --tasks generate --budget 40 --reference "$OUT/torch_cpu.jsonl" |
  tee "$OUT/wasm_vs_torch_cpu.txt"
