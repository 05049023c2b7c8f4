#!/bin/bash
# dense_chain second form (32-bit share math, evict-first bulk copies, staging in one round trip, ring size by env):
# bit test, gemv_bench over ring sizes with the trace of one chain, graph decode A/B, kernel and session tests.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
run_for 60 "$here/test_cuda" --gtest_filter='*Dense*' > "$out/dense_test.log" 2>&1; echo "dense test exit $?"; grep -E "OK \]|FAILED|Failure|differ" "$out/dense_test.log" | head
for cfg in "6 32" "4 32" "3 32" "2 32" "6 16" "4 16" "3 16" "4 8"; do
  set -- $cfg; echo "== pages $1 x $2 KB"
  MNEMO_CUDA_DENSE_PAGES=$1 MNEMO_CUDA_DENSE_PAGE_KB=$2 run_for 40 "$here/gemv_bench" --reps 20 > "$out/gemv_$1x$2.txt" 2>&1
  grep -E "dense chains|^bf16 " "$out/gemv_$1x$2.txt"
done 2>&1 | tee "$out/gemv_sweep.txt"
echo "== before"; run_for 40 "$here/gemv_bench_before" --reps 20 2>&1 | grep -E "^bf16 " | tee -a "$out/gemv_sweep.txt"
lte_model mnemo
for r in 1 2; do graph chain mnemo 1024; graph chain_p3 mnemo 1024 MNEMO_CUDA_DENSE_PAGES=3; graph chain_off mnemo 1024 MNEMO_CUDA_DENSE_CHAIN=0; graph before mnemo_before 1024; done
kernel_tests 90
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure"
pack
