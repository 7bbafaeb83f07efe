#!/usr/bin/env bash
# The GPU benchmark, as run on a lent H100 machine (issue 8): PyTorch and this project's WebGPU backend
# on the same GPU in the same run, then a per-kernel profile of the slowest case.
#
# That machine has no network and no Deno, so the call carries (ignored paths, see .git/info/exclude):
#   .devpack/deno.xz     the Deno binary used here (xz -6)
#   .devpack/nm.tar.xz   node_modules pruned to the files this benchmark reads (tfjs core/cpu/webgpu, yaml, zod, ...)
#   .gl/*.deb            Debian's Vulkan/EGL loaders (the device README's recipe); the NVIDIA driver is there
# Results land in $OUT (default bench/out/gpu): gpu.txt, torch.jsonl, webgpu*.jsonl, profile.json, log.txt.
source bench/reference/device_setup.sh log.txt

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
echo "== WebGPU adapter seen by Deno"
timeout 60 deno eval 'const a = await navigator.gpu.requestAdapter(); console.log(JSON.stringify({ info: a?.info, fallback: a?.info?.isFallbackAdapter, maxBuffer: a?.limits.maxStorageBufferBindingSize }))' 2>&1 | tee -a "$OUT/gpu.txt"

echo "== PyTorch $(python3 -c 'import torch; print(torch.__version__)'), strict fp32 (TF32 off), then PyTorch defaults"
timeout 120 python3 bench/reference/stylegan_torch.py --bench --device cuda --res 32,64,128,256 \
  --channels default,reduced --batch 8,32 --tf32 off --json | tee "$OUT/torch.jsonl"
timeout 40 python3 bench/reference/stylegan_torch.py --bench --device cuda --res 256 \
  --channels default --batch 8,32 --tf32 on --json | tee "$OUT/torch_tf32.jsonl"

ref=()
[ -s "$OUT/torch.jsonl" ] && ref=(--reference "$OUT/torch.jsonl")
echo "== WebGPU generation, batch 8 and 32"
timeout 180 deno run -A bench/main.ts --backend webgpu --res 32,64,128,256 --channels default,reduced \
  --tasks generate --batch 8 --budget 60 "${ref[@]}" --json | tee "$OUT/webgpu.jsonl"
timeout 60 deno run -A bench/main.ts --backend webgpu --res 256 --channels default,reduced \
  --tasks generate --batch 32 --budget 60 "${ref[@]}" --json | tee "$OUT/webgpu_b32.jsonl"

echo "== Kernel profile, 256 px default channels, batch 8"
timeout 60 deno run -A bench/kernel_profile.ts --backend webgpu --res 256 --channels default --batch 8 \
  --json | tee "$OUT/profile.json"

echo "== WebGPU training steps (D with R1 + G), batch 8"
timeout 120 deno run -A bench/main.ts --backend webgpu --tasks train --train-res 32,64 \
  --channels reduced,default --batch 8 --budget 60 --json | tee "$OUT/webgpu_train.jsonl"
echo "== done"
