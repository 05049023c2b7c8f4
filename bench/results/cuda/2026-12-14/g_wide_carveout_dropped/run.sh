#!/bin/bash
# 2026-12-14 g: the GEMVs beside kv_decode and kv_decode itself at the largest shared-memory carveout
# (MNEMO_CUDA_WIDE_CARVEOUT: 1 = the q/k/v projections before it, kv_decode and o_proj after it;
# 2 = the projections and kv_decode; 0 = none), so kv_decode's blocks can land beside a projection
# block that has not left. Session tests with 1; traces; mnemo bench at 1K alternating with HEAD
# (163844b's code, mnemo_head).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
MNEMO_CUDA_WIDE_CARVEOUT=1 session_tests 130 "max \|"
lte_model mnemo
trace w1 mnemo MNEMO_CUDA_WIDE_CARVEOUT=1; trace w2 mnemo MNEMO_CUDA_WIDE_CARVEOUT=2; trace w0 mnemo; trace head mnemo_head
for r in 1 2 3; do bench1k w1 mnemo MNEMO_CUDA_WIDE_CARVEOUT=1; bench1k w2 mnemo MNEMO_CUDA_WIDE_CARVEOUT=2; bench1k w0 mnemo; bench1k head mnemo_head; done
for n in w1 w2 w0 head; do echo "== $n"; sed -n 2,12p "$out/report_$n.txt" | grep -v "^$"; grep -E "^ +(3|4|5|6|7) " "$out/report_$n.txt"; done
rm -f "$out"/trace_*.json
pack
