#!/bin/bash
# 2026-12-14 d: the final binary (a's s1: kv_decode's blocks take every 8th slot and skip the
# empty retained slots; the next step's first GEMV prefetched into L2 after each step). test_cuda,
# test_cuda_session, memcheck of the decode-step kernel test and the session's decode set, mnemo
# bench at 1K/16K/128K with the roofline, then against c7eabaa (mnemo_base) at 1K, four rounds.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
kernel_tests 90
grep -E "max \|out diff\|" "$out/test_cuda.log" | head -20
session_tests 130 "max \||agreed|sampled the CPU|split MLP"
run_for 100 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*DecodeStep*:*Gemv*' >"$out/memcheck_kernels.log" 2>&1
echo "memcheck kernels exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_kernels.log"
run_for 120 compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 "$here/test_cuda_session" \
  --gtest_filter='*PrefillDecode*lalte:*PrefillDecode*gdn_attn:*Greedy*lalte:*Sampling*lalte:*SplitMlp*' >"$out/memcheck_session.log" 2>&1
echo "memcheck session exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_session.log"
run_for 200 "$here/mnemo" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K,16K,128K --decode-tokens 64 \
  --max-seconds 170 --model-dir "$models" --json "$out/decode_lte.json" >"$out/decode_lte.txt" 2>"$out/decode_lte.log"; cat "$out/decode_lte.txt"
lte_model mnemo
trace new mnemo; trace base mnemo_base
for r in 1 2 3 4; do bench1k new mnemo; bench1k base mnemo_base; done
for n in new base; do echo "== $n"; sed -n 2,11p "$out/report_$n.txt" | grep -v "^$"; done
rm -f "$out"/trace_*.json
pack
