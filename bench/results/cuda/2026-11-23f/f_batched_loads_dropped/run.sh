#!/usr/bin/env bash
# Batched loads in kv_attend / kv_plan / kv_combine: tests, graph decode new vs before, skip attribution, memcheck.
. "$(dirname "$0")/../device_env.sh"
kernel_tests 120
session_tests 200 "lalte chunk|gdn_attn chunk"
pack
lte_model mnemo
ab_decode 2
for skip in none plan attend plan,attend side rope,plan,attend,side,conv,rec; do graph "exp_skip_$skip" mnemo_exp 1024 MNEMO_EXP_SKIP=$skip; done
pack
run_for 200 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda_session" \
  --gtest_filter='*PrefillDecode*lalte:*PrefillDecode*gdn_attn:*TokenByToken*lalte' >"$out/memcheck.log" 2>&1
echo "memcheck exit $?" | tee -a "$out/memcheck.log"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck.log"
echo "total ${SECONDS} s" | tee -a "$out/total.txt"; pack
