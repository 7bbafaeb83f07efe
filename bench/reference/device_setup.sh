# Sourced by the device_*.sh scripts as `source bench/reference/device_setup.sh LOG_NAME`: results go to $OUT
# (default bench/out/gpu) with everything printed copied to $OUT/LOG_NAME; then the carried Vulkan loader, Deno
# and node_modules are unpacked on the bare device machine (see device_bench.sh for what is carried and why).
set -uo pipefail
OUT=${OUT:-bench/out/gpu}
mkdir -p "$OUT"
exec > >(tee "$OUT/${1:-log.txt}") 2>&1
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
xz -dc .devpack/deno.xz >/tmp/deno && chmod +x /tmp/deno
tar -xJf .devpack/nm.tar.xz
export PATH=/tmp:$PATH DENO_DIR=/tmp/deno-dir NPM_CONFIG_REGISTRY=http://127.0.0.1:9/ XDG_RUNTIME_DIR=/tmp/xdg
mkdir -p -m 700 /tmp/xdg

