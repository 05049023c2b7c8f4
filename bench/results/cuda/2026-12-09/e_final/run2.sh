#!/bin/bash
# 2026-12-09 e (second run): compute-sanitizer memcheck on test_cuda and on test_cuda_session's decode set with the published-token test.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=580
run_for 200 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" >"$out/memcheck_kernels.log" 2>&1
echo "memcheck kernels exit $?"; grep -E "ERROR SUMMARY" "$out/memcheck_kernels.log"
run_for 330 compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 "$here/test_cuda_session" \
  --gtest_filter='*PrefillDecode*lalte:*PrefillDecode*gdn_attn:*Greedy*lalte:*Snapshot*gdn_swa:*Sampling*lalte:*Generate*gdn_attn:*SplitMlp*:*Publish*' \
  >"$out/memcheck_session.log" 2>&1
echo "memcheck session exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED|OK \]" "$out/memcheck_session.log"
pack
