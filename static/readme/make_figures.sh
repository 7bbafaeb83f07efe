#!/usr/bin/env bash
# Regenerates the README pictures from the embedded default model through the REST API:
#   bash static/readme/make_figures.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
port=8765
PORT=$port SGAN_BACKEND=wasm deno run -A server/main.ts >/dev/null 2>&1 &
pid=$!
trap 'kill $pid' EXIT
for _ in $(seq 60); do curl -sf "localhost:$port/api/models" >/dev/null && break; sleep 0.5; done
api="http://localhost:$port"
out=static/readme
# A sample grid like the seed text's 64-tile figure.
curl -sf "$api/grid?seeds=0-63&psi=0.7&cols=8" -o "$out/grid.png"
# The truncation trick: ψ from -1 to 1 in steps of 0.2 (rows = seeds).
curl -sf "$api/truncation?seeds=${TRUNCATION_SEEDS:-6,20,41}&psis=-1,-0.8,-0.6,-0.4,-0.2,0,0.2,0.4,0.6,0.8,1&labels=1" -o "$out/truncation.png"
# Depth mixing: built-up destinations take coarse (19.5-9.8 m) or fine (2.4-1.2 m) styles from vegetated sources.
curl -sf "$api/mixing?src=${MIX_SOURCES:-9,17,24}&dst=${MIX_DESTINATIONS:-2,28}&ranges=0-3,6-9&src_psi=0.7&dst_psi=0.7&labels=1" -o "$out/mixing.png"
# A conditional default model: the class grid (the README's first picture), truncation toward each class's
# centre, and depth mixing across land uses (a forest's layout with dense-residential texture and the reverse).
# (An unconditional model answers class=forest with a 400, so these are skipped for it.)
if curl -sf "$api/generate?seed=0&class=forest" -o /dev/null; then
  deno run -A static/readme/class_figures.ts --out-dir "$out"
  # One range per destination row: forest rows take dense-residential styles at 0-3 (19.5-9.8 m), 4-5 (4.9 m)
  # and 6-9 (2.4-1.2 m), so the last row keeps the forest's layout under residential texture.
  curl -sf "$api/mixing?src=${CLASS_MIX_SOURCES:-1,2,3}&dst=${CLASS_MIX_DESTINATIONS:-4,5,6}&src_class=denseresidential&dst_class=forest&ranges=0-3,4-5,6-9&src_psi=0.7&dst_psi=0.7&labels=1&tile=128" -o "$out/mixing_classes.png"
fi
ls -la "$out"
