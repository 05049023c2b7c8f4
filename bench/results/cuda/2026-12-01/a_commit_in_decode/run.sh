#!/bin/bash
# kv_commit inside kv_decode on single-token side steps: tests, memcheck, graph A/B against a3b8ad5 (mnemo_before).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
kernel_tests 90
grep -E "commit|paper's LTE|Failure|Expected|Which is" "$out/test_cuda.log" | head -40
run_for 60 compute-sanitizer --tool memcheck "$here/test_cuda" --gtest_filter='*DecodeStepInOneLaunch*' > "$out/memcheck_kernel.log" 2>&1; echo "memcheck kernel exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_kernel.log"
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure|owed|lalte:"
lte_model mnemo
for r in 1 2 3; do graph new mnemo 1024; graph before mnemo_before 1024; done
graph new mnemo 16384; graph new mnemo 131072; graph before mnemo_before 131072
run_for 120 compute-sanitizer --tool memcheck "$here/test_cuda_session" --gtest_filter='*Batches*:*CpuSnapshot*:*Greedy*' > "$out/memcheck.log" 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck.log"
pack
