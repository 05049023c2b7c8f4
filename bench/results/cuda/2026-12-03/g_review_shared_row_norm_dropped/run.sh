#!/bin/bash
# Review refactor (the input norm shared by the GEMV and the split MLP: stage_row_normed): tests,
# gemv_bench, graph decode against d4435c6 (mnemo_before) alternating, memcheck of the split tests.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=500
kernel_tests 150
grep -E "split MLP" "$out/test_cuda.log"
session_tests 240 "split MLP|lalte chunk 256|gdn_attn chunk 256|owed"
run_for 60 "$here/gemv_bench" --reps 100 2>&1 | grep bf16 | tee "$out/gemv_bench.txt"
lte_model mnemo
ab_decode 3
run_for 90 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*SplitMlp*:*GdnOutputNorm*:*MlpWithItsInputNorm*' > "$out/memcheck_kernels.log" 2>&1; echo "memcheck kernels exit $?"; grep "ERROR SUMMARY" "$out/memcheck_kernels.log"
pack
