#!/bin/bash
# kv_decode's commit tail: the leaving row moved from shared memory by the block holding it, no fences around the
# arrival count. Tests, memcheck of the decode test, graph decode against d4ee80a (mnemo_before), alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=540
kernel_tests 90
run_for 60 compute-sanitizer --tool memcheck "$here/test_cuda" --gtest_filter='*DecodeStepInOneLaunch*' > "$out/memcheck_kernel.log" 2>&1; echo "memcheck kernel exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_kernel.log"
run_for 60 compute-sanitizer --tool racecheck "$here/test_cuda" --gtest_filter='*DecodeStepInOneLaunch*' > "$out/racecheck_kernel.log" 2>&1; echo "racecheck kernel exit $?"; grep -E "ERROR SUMMARY|RACECHECK SUMMARY|PASSED|FAILED" "$out/racecheck_kernel.log"
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure|owed|lalte:"
lte_model mnemo
for r in 1 2 3 4; do graph new mnemo 1024; graph before mnemo_before 1024; done
graph new mnemo 131072; graph before mnemo_before 131072
pack
