#!/usr/bin/env bash
# TensorFlow.js webgpu flag sweep on the lent H100 (issue 8): the same 256 px generation under each flag set,
# PyTorch rerun in the same call for the ratios, then a kernel profile with the best set.
source bench/reference/device_setup.sh log_flags.txt
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 60 python3 bench/reference/stylegan_torch.py --bench --device cuda --res 256 --channels default,reduced \
  --batch 8,32 --tf32 off --json | tee "$OUT/torch.jsonl"
ref=()
[ -s "$OUT/torch.jsonl" ] && ref=(--reference "$OUT/torch.jsonl")
variants=(
  ""
  "WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE=false"
  "WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE=false,WEBGPU_CONV_SEPARATE_IM2COL_SHADER=true"
  "WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE=false,WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=100"
)
for v in "${variants[@]}"; do
  for b in 8 32; do
    echo "== flags [$v] batch $b"
    SGAN_TFJS_FLAGS="$v" timeout 60 deno run -A bench/main.ts --backend webgpu --res 256 --channels default,reduced \
      --tasks generate --batch $b --budget 60 "${ref[@]}" --json 2>/dev/null | sed "s/^{/{\"flags\":\"$v\",/" |
      tee -a "$OUT/flags.jsonl"
  done
done
echo "== profile with the conv-transpose flag"
SGAN_TFJS_FLAGS="WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE=false" timeout 60 deno run -A bench/kernel_profile.ts \
  --backend webgpu --res 256 --channels default --batch 8 --json 2>/dev/null | tee "$OUT/profile_flags.json"
echo "== training step, 32 px reduced, with the conv-transpose flag"
SGAN_TFJS_FLAGS="WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE=false" timeout 90 deno run -A bench/main.ts --backend webgpu \
  --tasks train --train-res 32,64 --channels reduced --batch 8 --budget 80 --json 2>/dev/null | tee "$OUT/train_flags.jsonl"
echo "== done"
