#!/bin/bash
# The split MLP in two forms: 512 threads a block, one an SM (default) against 256 threads, two an SM,
# runs of 4 rows (MNEMO_CUDA_MLP_SPLIT=2), and the GEMVs (=0): graph decode alternating, gemv_bench,
# the kernel test in the second form, the session tests.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
MNEMO_CUDA_MLP_SPLIT=2 run_for 60 "$here/test_cuda" --gtest_filter='*SplitMlpMatches*:*SplitMlpSaturates*' > "$out/test_cuda_half.log" 2>&1; echo "half-form kernel tests exit $?"; grep -E "split MLP|PASSED|FAILED" "$out/test_cuda_half.log"
lte_model mnemo
for r in 1 2 3; do graph split512 mnemo 1024; graph split256x2 mnemo 1024 MNEMO_CUDA_MLP_SPLIT=2; graph gemv mnemo 1024 MNEMO_CUDA_MLP_SPLIT=0; done
for n in 16384 131072; do graph split512 mnemo $n; graph split256x2 mnemo $n MNEMO_CUDA_MLP_SPLIT=2; graph gemv mnemo $n MNEMO_CUDA_MLP_SPLIT=0; done
run_for 60 "$here/gemv_bench" --reps 100 2>&1 | grep bf16 | tee "$out/gemv_bench.txt"
MNEMO_CUDA_MLP_SPLIT=2 run_for 60 "$here/gemv_bench" --reps 100 2>&1 | grep bf16 | tee "$out/gemv_bench_half.txt"
kernel_tests 150
session_tests 240 "split MLP|SplitMlp"
pack
