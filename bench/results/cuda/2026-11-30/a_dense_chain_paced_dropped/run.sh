#!/bin/bash
# dense_chain third form: a producer warp that runs ahead across phases into a 192 KB ring, with at
# most IN_FLIGHT copies outstanding; consumer warps release pages one warp at a time (no block
# barrier a page); named barriers among the consumers. Bit test, gemv_bench sweep, graph A/B.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=570
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee "$out/gpu.txt"
run_for 60 "$here/test_cuda" --gtest_filter='*Dense*' > "$out/dense_test.log" 2>&1; echo "dense test exit $?"; grep -E "OK \]|FAILED|Failure|differ" "$out/dense_test.log" | head
for cfg in "16 12 2" "16 12 1" "16 12 4" "16 12 12" "8 24 2" "8 24 4" "32 6 1" "32 6 2" "16 12 3"; do
  set -- $cfg; echo "== page $1 KB x $2, in flight $3"
  MNEMO_CUDA_DENSE_PAGE_KB=$1 MNEMO_CUDA_DENSE_PAGES=$2 MNEMO_CUDA_DENSE_IN_FLIGHT=$3 run_for 40 "$here/gemv_bench" --reps 20 > "$out/gemv_$1x$2_$3.txt" 2>&1
  grep -E "dense chains|^bf16 " "$out/gemv_$1x$2_$3.txt"
done 2>&1 | tee "$out/gemv_sweep.txt"
echo "== before"; run_for 40 "$here/gemv_bench_before" --reps 20 2>&1 | grep -E "^bf16 |^q8" | tee -a "$out/gemv_sweep.txt"
lte_model mnemo
for r in 1 2; do graph chain mnemo 1024; graph chain_if4 mnemo 1024 MNEMO_CUDA_DENSE_IN_FLIGHT=4; graph chain_off mnemo 1024 MNEMO_CUDA_DENSE_CHAIN=0; graph before mnemo_before 1024; done
graph chain mnemo 131072
kernel_tests 80
session_tests 150 "lalte chunk 256|gdn_attn chunk 256|Failure"
pack
