#!/bin/bash
# 2026-12-14 i: every kernel's preferred shared-memory carveout set to one value at its first launch
# (MNEMO_CUDA_CARVEOUT=100 / 87), so no SM is reconfigured between kernels and kv_decode's ~97 KB
# blocks can join an SM beside a GEMV block; against the same binary without it (`none`) and HEAD
# (9377154's code, mnemo_head). Session tests with 100; traces; mnemo bench at 1K alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
MNEMO_CUDA_CARVEOUT=100 session_tests 130 "max \|"
lte_model mnemo
trace c100 mnemo MNEMO_CUDA_CARVEOUT=100; trace c87 mnemo MNEMO_CUDA_CARVEOUT=87; trace none mnemo; trace head mnemo_head
for r in 1 2 3; do bench1k c100 mnemo MNEMO_CUDA_CARVEOUT=100; bench1k c87 mnemo MNEMO_CUDA_CARVEOUT=87; bench1k none mnemo; bench1k head mnemo_head; done
for n in c100 c87 none head; do echo "== $n"; sed -n 2,11p "$out/report_$n.txt" | grep -v "^$"; done
rm -f "$out"/trace_*.json
pack
