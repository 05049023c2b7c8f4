#!/bin/bash
# 2026-12-12 c: the split MLP in clusters of two (half the down atomics): tests, memcheck of the MLP tests, traces and
# mnemo bench at 1K against MNEMO_CUDA_MLP_PAIRS=0 (the same binary), alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
kernel_tests 110
session_tests 200 "max \||agreed|sampled the CPU|split MLP"
run_for 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*SplitMlp*' >"$out/memcheck_kernels.log" 2>&1
echo "memcheck kernels exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_kernels.log"
run_for 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda_session" --gtest_filter='*SplitMlp*:*Greedy*lalte*' >"$out/memcheck_session.log" 2>&1
echo "memcheck session exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_session.log"
lte_model mnemo
declare -A cfg=([pairs]="" [nopairs]="MNEMO_CUDA_MLP_PAIRS=0")
order="pairs nopairs"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2 3 4; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,24p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
