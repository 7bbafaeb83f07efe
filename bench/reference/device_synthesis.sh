#!/usr/bin/env bash
# The own WGSL mapping and synthesis pipelines (model/webgpu) on a lent GPU machine (issue 8), in one call of 6-10 min
# (most important first; every result is written as it comes, so a cut-off run still returns what it had):
#   1. correctness on the real GPU: tests/model/webgpu (parity with the reference fixture in tests/fixtures)
#   2. PyTorch on the same GPU, strict fp32, batch 8 and 32 (the ratios' reference, same run)
#   3. generation through WebGPU with tfjs kernels (SGAN_WEBGPU_SYNTHESIS=0) and with the own pipelines (=1)
#   4. GPU time per dispatch of the own pipelines (bench/webgpu_profile.ts): which layers, tiles and passes
#      are slow, each convolution's TFLOP/s, and wall time minus GPU time = the CPU's share
#   5. a sweep of convolution tiles (,1 = prefetched loads) at 256 px, default channels, batch 8: the profile
#      again with each tile tried first, so every layer's time with each tile can be compared (img/s = 8000 /
#      wall_ms, against torch.jsonl)
#   6. dispatches (mapping's share too) and recording time per batch (bench/webgpu_record.ts), both paths
# Carries what device_bench.sh carries (.devpack/, .gl/; rebuild with bench/reference/make_devpack.sh after
# adding npm packages; the reference fixture travels with the working tree, in tests/fixtures).
# Results in $OUT: torch.jsonl, synthesis.jsonl, profile.jsonl, record.jsonl, tiles.jsonl, log_synthesis.txt.
source bench/reference/device_setup.sh log_synthesis.txt
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader

echo "== tests/model/webgpu on this GPU"
timeout 90 deno test -A tests/model/webgpu/ 2>&1 | grep -E "ok|FAILED|error|passed" | tail -20

echo "== PyTorch, TF32 off"
timeout 60 python3 bench/reference/stylegan_torch.py --bench --device cuda --res 64,256 --channels default,reduced \
  --batch 8,32 --tf32 off --json | tee "$OUT/torch.jsonl"
ref=()
[ -s "$OUT/torch.jsonl" ] && ref=(--reference "$OUT/torch.jsonl")

for own in 0 1; do
  for b in 8 32; do
    echo "== SGAN_WEBGPU_SYNTHESIS=$own, batch $b"
    SGAN_WEBGPU_SYNTHESIS=$own timeout 60 deno run -A bench/main.ts --backends webgpu --res 64,256 \
      --channels default,reduced --tasks generate --batch $b --budget 60 "${ref[@]}" --json 2>/dev/null |
      sed "s/^{/{\"own\":$own,/" | tee -a "$OUT/synthesis.jsonl"
  done
done

echo "== GPU time per dispatch, own pipelines, 256 px"
for cb in default,8 default,32 reduced,8; do
  timeout 45 deno run -A bench/webgpu_profile.ts --res 256 --channels ${cb%,*} --batch ${cb#*,} --json 2>/dev/null |
    tee -a "$OUT/profile.jsonl"
done

echo "== tile sweep, 256 px default channels, batch 8"
# (the 32×32 tile is left out: forced first it would serve every layer; it is only for the smallest ones)
for tile in 128,128,8,8,8 128,128,8,8,8,1 128,128,16,8,8 128,128,16,8,8,1 128,64,8,8,4 128,64,8,8,4,1 64,64,16,4,4 \
  64,64,16,4,4,1; do
  SGAN_WEBGPU_TILE=$tile timeout 30 deno run -A bench/webgpu_profile.ts --res 256 --channels default --batch 8 \
    --json 2>/dev/null | sed "s/^{/{\"tile\":\"$tile\",/" | tee -a "$OUT/tiles.jsonl"
done

echo "== recording cost per batch, 256 px default (the counts are the same on any adapter)"
timeout 45 deno run -A bench/webgpu_record.ts --res 256 --channels default --batch 8 --json 2>/dev/null |
  tee -a "$OUT/record.jsonl"
echo "== done"
