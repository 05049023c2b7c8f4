#!/bin/bash
# Decode kernels' loads before their dependent stores (kv_decode's plan score and value, GDN's gates, the GEMV's row constants) against f43d51a; tests; memcheck.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=575
lte_model mnemo
ab1k
trace new2 mnemo
trace before2 mnemo_before
kernel_tests 120
session_tests 200 "maxima|Greedy.*OK"
run_for 150 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" >"$out/memcheck_kernels.log" 2>&1; echo "memcheck kernels exit $?"; grep -E "ERROR SUMMARY" "$out/memcheck_kernels.log"
run_for 150 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda_session" --gtest_filter='*PrefillDecode*lalte:*PrefillDecode*gdn_attn:*Greedy*lalte:*Greedy*gdn:*Snapshot*gdn_swa:*Generate*gdn_attn:*SplitMlp*' >"$out/memcheck_session.log" 2>&1; echo "memcheck session exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_session.log"
pack
