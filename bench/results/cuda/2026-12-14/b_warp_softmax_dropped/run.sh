#!/bin/bash
# 2026-12-14 b: kv_decode's softmax per warp in registers and shuffles (one barrier between scores
# and P·V) on top of a's changes (s1: every 8th slot a block, empty retained slots not copied, the
# next step's first GEMV prefetched into L2). test_cuda; traces and mnemo bench at 1K, s2 (this
# build), s1 (a's binary) and base (c7eabaa) alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
kernel_tests 90
grep -E "max \|out diff\|" "$out/test_cuda.log" | head -20
lte_model mnemo
trace s2 mnemo; trace s1 mnemo_s1; trace base mnemo_base
for r in 1 2 3 4; do bench1k s2 mnemo; bench1k s1 mnemo_s1; bench1k base mnemo_base; done
trace s2b mnemo; trace base2 mnemo_base
for n in s2 s1 base s2b base2; do echo "== $n"; sed -n 1,11p "$out/report_$n.txt" | grep -v "^$"; sed -n 12,22p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.json
pack
