#!/bin/bash
# 2026-12-10 e: the fold's second form (partials pushed to every block, no barrier after the combine, o_proj's weights requested once the copies landed) against MNEMO_CUDA_FOLD_O=0; decode tests.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
run_for 120 "$here/test_cuda" --gtest_filter='*Decode*:*Fold*' > "$out/test_cuda_fold.log" 2>&1; echo "test_cuda (decode) exit $?"; grep -E "PASSED|FAILED|max \|sum|Failure" "$out/test_cuda_fold.log" | head -20
run_for 120 "$here/test_cuda_session" --gtest_filter='*Folded*:*SplitMlp*:*lalte*' > "$out/test_cuda_session_fold.log" 2>&1; echo "session exit $?"; grep -E "PASSED|FAILED|o_proj folded|split MLP|Failure" "$out/test_cuda_session_fold.log" | head
lte_model mnemo
ab_switch MNEMO_CUDA_FOLD_O=0
rm -f "$out"/trace_*.csv.gz
pack
