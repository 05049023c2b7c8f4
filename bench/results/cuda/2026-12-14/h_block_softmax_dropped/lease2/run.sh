#!/bin/bash
# 2026-12-14 h, second lease: `sm` (kv_decode's softmax by every thread) against HEAD, mnemo bench at
# 1K alternating six rounds; memcheck of the decode-step kernel test.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=500
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
run_for 100 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*DecodeStep*' >"$out/memcheck_kernels.log" 2>&1
echo "memcheck kernels exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_kernels.log"
lte_model mnemo
for r in 1 2 3 4 5 6; do bench1k sm mnemo; bench1k head mnemo_head; done
trace sm2 mnemo; trace head2 mnemo_head
for n in sm2 head2; do echo "== $n"; sed -n 2,11p "$out/report_$n.txt" | grep -v "^$"; done
rm -f "$out"/trace_*.json
pack
