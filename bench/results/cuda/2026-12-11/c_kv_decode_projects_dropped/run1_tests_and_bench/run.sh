#!/bin/bash
# 2026-12-11 c: kv_decode projecting the LTE layer's q/k/v itself (MNEMO_CUDA_DECODE_PROJECT, on by default) against the GEMV
# launch before it: traces and mnemo bench at 1K alternating, the tests, memcheck of the new tests.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > "$out/gpu.txt"
lte_model mnemo
declare -A cfg=([project]="" [gemv]="MNEMO_CUDA_DECODE_PROJECT=0")
order="project gemv"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2 3; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
kernel_tests 150
session_tests 200 "KvDecodeProjecting|SplitMlp|golden|lalte"
run_for 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*DecodeStep*' >"$out/memcheck_kernels.log" 2>&1
echo "memcheck kernels exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_kernels.log"
run_for 120 compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 "$here/test_cuda_session" \
  --gtest_filter='*KvDecodeProjecting*:*Greedy*lalte:*SplitMlp*' >"$out/memcheck_session.log" 2>&1
echo "memcheck session exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_session.log"
for n in $order; do echo "== $n"; sed -n 2,12p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
