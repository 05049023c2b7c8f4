#!/bin/bash
# dense_chain (decode's linear layers between mixers in one persistent launch) + GEMV staging in one round trip:
# the chain's bit test first (bounded: a grid barrier that never opens would hang), the kernel and session tests,
# gemv_bench new and before, graph decode A/B (chain, chain off, before), memcheck of the chain test.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
run_for 60 "$here/test_cuda" --gtest_filter='*Dense*' > "$out/dense_test.log" 2>&1; echo "dense test exit $?" | tee -a "$out/dense_test.log"; grep -E "OK|FAILED|Failure|differ" "$out/dense_test.log" | head -20
if grep -q "\[  PASSED  \] 1 test" "$out/dense_test.log"; then
  kernel_tests 90
  session_tests 200 "lalte chunk|gdn_attn chunk 256|Failure"
  for b in gemv_bench gemv_bench_before; do echo "== $b"; run_for 60 "$here/$b" --reps 30 --json "$out/$b.json"; done 2>&1 | tee "$out/gemv_bench.txt"
  lte_model mnemo
  for r in 1 2; do graph chain mnemo 1024; graph chain_off mnemo 1024 MNEMO_CUDA_DENSE_CHAIN=0; graph before mnemo_before 1024; done
  graph chain mnemo 16384; graph chain mnemo 131072
  run_for 60 compute-sanitizer --tool memcheck "$here/test_cuda" --gtest_filter='*Dense*' > "$out/memcheck.log" 2>&1; tail -1 "$out/memcheck.log"
fi
pack
