#!/bin/bash
# A GDN decode step in one launch (gdn_decode_step: convs, L2 norms and the rule): kernel and session tests,
# memcheck of the new test, graph decode against f4f67de (mnemo_before) and with MNEMO_CUDA_GDN_ONE_LAUNCH=0.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=500
kernel_tests 80
grep -E "GdnDecode|Failure|differ" "$out/test_cuda.log" | head
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure|owed"
run_for 60 compute-sanitizer --tool memcheck "$here/test_cuda" --gtest_filter='*GdnDecode*' > "$out/memcheck.log" 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck.log"
lte_model mnemo
for r in 1 2 3; do graph new mnemo 1024; graph before mnemo_before 1024; graph new_split mnemo 1024 MNEMO_CUDA_GDN_ONE_LAUNCH=0; done
graph new mnemo 131072; graph before mnemo_before 131072
pack
