#!/bin/bash
# 2026-12-13 d: the final binary (the GEMV's whole-row norm scales its sums; the split MLP unchanged):
# test_cuda, test_cuda_session, memcheck of the GEMV/MLP kernel tests and the session's decode set,
# mnemo bench at 1K/16K/128K with the roofline, and against HEAD (mnemo_base, bb9311c) at 1K.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
kernel_tests 80
session_tests 120 "max \||agreed|sampled the CPU|split MLP"
run_for 100 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*Halves*:*SplitMlp*:*Gemv*:*Embedding*' >"$out/memcheck_kernels.log" 2>&1
echo "memcheck kernels exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_kernels.log"
run_for 120 compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 "$here/test_cuda_session" \
  --gtest_filter='*PrefillDecode*lalte:*PrefillDecode*gdn_attn:*Greedy*lalte:*Sampling*lalte:*SplitMlp*' >"$out/memcheck_session.log" 2>&1
echo "memcheck session exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_session.log"
run_for 200 "$here/mnemo" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K,16K,128K --decode-tokens 64 \
  --max-seconds 170 --model-dir "$models" --json "$out/decode_lte.json" >"$out/decode_lte.txt" 2>"$out/decode_lte.log"; cat "$out/decode_lte.txt"
lte_model mnemo
declare -A bin=([new]=mnemo [base]=mnemo_base)
order="new base"
for n in $order; do trace $n ${bin[$n]}; done
for r in 1 2 3; do for n in $order; do bench1k $n ${bin[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,12p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz "$out"/trace_*.json
pack
