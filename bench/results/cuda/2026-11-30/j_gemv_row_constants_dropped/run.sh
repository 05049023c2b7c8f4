#!/bin/bash
# The GEMV reads its rows' biases and decay constants with the row (a row ahead) and a grouped norm's weights
# before the wait: tests, memcheck of the GEMV tests, gemv_bench and graph decode against f4f67de (*_before).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=500
kernel_tests 80
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure|owed"
run_for 90 compute-sanitizer --tool memcheck "$here/test_cuda" --gtest_filter='*Gdn*:*Projections*:*Mlp*:*Q8_0*' > "$out/memcheck.log" 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck.log"
for r in 1 2; do for v in gemv_bench gemv_bench_before; do echo "== $v"; run_for 40 "$here/$v" --reps 20 2>&1 | grep -E "^bf16 |^q8"; done; done 2>&1 | tee "$out/gemv_ab.txt"
lte_model mnemo
for r in 1 2 3; do graph new mnemo 1024; graph before mnemo_before 1024; done
graph new mnemo 131072; graph before mnemo_before 131072
pack
