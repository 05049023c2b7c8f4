#!/bin/bash
# The split MLP (cuda::mlp_split) in the backend: kernel and session tests, gemv_bench, graph decode
# with it against MNEMO_CUDA_MLP_SPLIT=0 (same binary) alternating, memcheck on the new tests.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=580
kernel_tests 150
grep -E "split MLP|SplitMlp" "$out/test_cuda.log" | head -20
session_tests 240 "split MLP|lalte:|SplitMlp"
run_for 60 "$here/gemv_bench" --reps 100 2>&1 | tee "$out/gemv_bench.txt"
lte_model mnemo
for r in 1 2 3; do graph split mnemo 1024; graph gemv mnemo 1024 MNEMO_CUDA_MLP_SPLIT=0; done
graph split mnemo 16384; graph gemv mnemo 16384 MNEMO_CUDA_MLP_SPLIT=0
graph split mnemo 131072; graph gemv mnemo 131072 MNEMO_CUDA_MLP_SPLIT=0
run_for 90 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*SplitMlp*' > "$out/memcheck_kernels.log" 2>&1; echo "memcheck kernels exit $?"; grep "ERROR SUMMARY" "$out/memcheck_kernels.log"
run_for 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda_session" --gtest_filter='*SplitMlp*' > "$out/memcheck_session.log" 2>&1; echo "memcheck session exit $?"; grep "ERROR SUMMARY" "$out/memcheck_session.log"
pack
