#!/bin/bash
# 2026-12-13 e: the input hot-spot probe (hotspot.cu), twice.
here=$(cd "$(dirname "$0")" && pwd); out=${OUT:-/tmp/out}/r; mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv > "$out/gpu.txt"
for i in 1 2; do "$here/hotspot" > "$out/hotspot_$i.txt" 2>&1; cat "$out/hotspot_$i.txt"; done
