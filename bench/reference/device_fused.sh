#!/usr/bin/env bash
# The fused WGSL epilogue on the lent H100 (issue 8): 256 px generation with and without it
# (SGAN_FUSED_EPILOGUE=0), PyTorch rerun in the same call for the ratios, and a kernel profile with it.
source bench/reference/device_setup.sh log_fused.txt
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 60 python3 bench/reference/stylegan_torch.py --bench --device cuda --res 64,256 --channels default,reduced \
  --batch 8,32 --tf32 off --json | tee "$OUT/torch.jsonl"
ref=()
[ -s "$OUT/torch.jsonl" ] && ref=(--reference "$OUT/torch.jsonl")
for fused in 0 1; do
  for b in 8 32; do
    echo "== fused epilogue $fused, batch $b"
    SGAN_FUSED_EPILOGUE=$fused timeout 60 deno run -A bench/main.ts --backend webgpu --res 64,256 \
      --channels default,reduced --tasks generate --batch $b --budget 60 "${ref[@]}" --json 2>/dev/null |
      sed "s/^{/{\"fused\":$fused,/" | tee -a "$OUT/fused.jsonl"
  done
done
echo "== profile, fused"
timeout 60 deno run -A bench/kernel_profile.ts --backend webgpu --res 256 --channels default --batch 8 \
  --json 2>/dev/null | tee "$OUT/profile_fused.json"
echo "== done"
