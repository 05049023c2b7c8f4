#!/bin/bash
# 2026-12-14 j: review mend (the step-start prefetch's line loop written once for both arrays; the
# backend's check that could not fail dropped). test_cuda, test_cuda_session, memcheck of the session's decode set.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
kernel_tests 90
session_tests 150 "max \||agreed"
run_for 120 compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 "$here/test_cuda_session" \
  --gtest_filter='*PrefillDecode*lalte:*PrefillDecode*gdn_attn:*Greedy*lalte:*Sampling*lalte:*SplitMlp*' >"$out/memcheck_session.log" 2>&1
echo "memcheck session exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_session.log"
pack
