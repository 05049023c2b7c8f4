#!/bin/bash
# 2026-12-14 c: the GEMV requests into L2 the row after the one it loads next
# (MNEMO_CUDA_GEMV_L2_AHEAD: 1 = launches of >= 8192 rows, the LM head; 2 = every launch; 0 = off,
# which is b's s1 binary). test_cuda and the session tests (1 and 2), traces, and mnemo bench at 1K
# alternating with base (c7eabaa).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
kernel_tests 90
MNEMO_CUDA_GEMV_L2_AHEAD=2 run_for 90 "$here/test_cuda" --gtest_filter='*Gemv*:*Linear*:*Embedding*' > "$out/test_cuda_all.log" 2>&1; echo "test_cuda (L2 ahead everywhere) exit $?"; grep -E "PASSED|FAILED" "$out/test_cuda_all.log"
session_tests 130 "max \||agreed|sampled the CPU|split MLP"
lte_model mnemo
trace m1 mnemo; trace m0 mnemo MNEMO_CUDA_GEMV_L2_AHEAD=0; trace m2 mnemo MNEMO_CUDA_GEMV_L2_AHEAD=2; trace base mnemo_base
for r in 1 2 3; do bench1k m1 mnemo; bench1k m0 mnemo MNEMO_CUDA_GEMV_L2_AHEAD=0; bench1k m2 mnemo MNEMO_CUDA_GEMV_L2_AHEAD=2; bench1k base mnemo_base; done
for n in m1 m0 m2 base; do echo "== $n"; sed -n 2,11p "$out/report_$n.txt" | grep -v "^$"; grep -E "^ +(0|96|97|98) " "$out/report_$n.txt"; done
rm -f "$out"/trace_*.json
pack
