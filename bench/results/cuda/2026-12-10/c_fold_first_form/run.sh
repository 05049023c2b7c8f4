#!/bin/bash
# 2026-12-10 c: o_proj folded into kv_decode (cuda::OutputFold) against MNEMO_CUDA_FOLD_O=0; tests and memcheck.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > "$out/gpu.txt"
run_for 120 "$here/test_cuda" --gtest_filter='*Decode*:*Fold*' > "$out/test_cuda_fold.log" 2>&1; echo "test_cuda (decode) exit $?"; grep -E "PASSED|FAILED|max \|sum|Failure" "$out/test_cuda_fold.log" | head -20
session_tests 200 "o_proj folded|split MLP|lalte|FAILED"
lte_model mnemo
ab_switch MNEMO_CUDA_FOLD_O=0
kernel_tests 90
memcheck 120
rm -f "$out"/trace_*.csv.gz
pack
