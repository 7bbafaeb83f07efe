#!/usr/bin/env bash
# Build what device_bench.sh carries to a bare, offline GPU machine (run here, from the repository root):
#   .devpack/deno.xz     this machine's Deno binary
#   .devpack/nm.tar.xz   node_modules pruned to the files a WebGPU benchmark actually reads
#   .gl/*.deb            Debian's Vulkan/EGL loaders (the device README's recipe)
# The pruning runs a tiny WebGPU benchmark on a throw-away copy (Mesa's software adapter is enough) with every
# file's times reset, and keeps the files whose access time moved, plus package.json and Deno's markers.
set -euo pipefail
root=$(pwd)
mkdir -p .devpack .gl
xz -T0 -6 -c "$(readlink -f "$(command -v deno)")" >.devpack/deno.xz
tmp=$(mktemp -d)
git ls-files -z | xargs -0 -I{} cp --parents {} "$tmp/"
cp -a node_modules "$tmp/"
find "$tmp/node_modules" -type f -exec touch -d 2020-01-01 {} +
(cd "$tmp" && deno run -A bench/main.ts --backend webgpu --res 8 --channels reduced --tasks generate,train \
  --train-res 8 --batch 2 --budget 20 >/dev/null && deno run -A bench/kernel_profile.ts --backend webgpu \
  --res 8 --channels reduced --batch 2 >/dev/null && deno run -A bench/webgpu_record.ts --res 8 --batch 2 \
  --runs 1 >/dev/null && deno test -A tests/model/webgpu/ >/dev/null)
(cd "$tmp" && find node_modules -type f -newermt 2020-01-02 -o -type f -newerat 2020-01-02 | sort -u) >"$tmp/keep"
(cd "$tmp" && find node_modules -type f ! -name package.json ! -name .initialized ! -name .setup-cache.bin \
  ! -name .deno.lock | grep -vxFf "$tmp/keep" | xargs -r rm -f)
(cd "$tmp" && tar -cJf "$root/.devpack/nm.tar.xz" node_modules)
rm -rf "$tmp"
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
mkdir -p /tmp/amd64/partial
apt-get $o update >/dev/null
(cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
ls -la .devpack .gl
