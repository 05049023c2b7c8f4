#!/bin/bash
# Final binary (9f7b4dc) against the session's start (d7f7c6b): traces and mnemo bench at 1K alternating;
# laLTE 0.4B prefill/decode at 1K/16K/128K with the roofline; tests; memcheck.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=575
lte_model mnemo
trace new mnemo
trace before mnemo_before
for r in 1 2 3; do bench1k new mnemo; bench1k before mnemo_before; done
run_for 200 "$here/mnemo" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K,16K,128K --decode-tokens 64 \
  --max-seconds 180 --model-dir "$models" --json "$out/decode_lte.json" >"$out/decode_lte.txt" 2>"$out/decode_lte.log"; cat "$out/decode_lte.txt"
kernel_tests 100
session_tests 150 "max \||agreed"
run_for 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" >"$out/memcheck_kernels.log" 2>&1; echo "memcheck kernels exit $?"; grep -E "ERROR SUMMARY" "$out/memcheck_kernels.log"
run_for 150 compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 "$here/test_cuda_session" --gtest_filter='*PrefillDecode*lalte:*PrefillDecode*gdn_attn:*Greedy*lalte:*Snapshot*gdn_swa:*Sampling*lalte:*Generate*gdn_attn:*SplitMlp*' >"$out/memcheck_session.log" 2>&1; echo "memcheck session exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_session.log"
pack
