#!/bin/bash
# 2026-12-14 e: each GEMV warp requests its second row into L2 before its wait (prefetch.global.L2,
# a line a lane), so that row's loads after the input's staging wait on L2. test_cuda and the
# session tests; traces and mnemo bench at 1K alternating with HEAD (d456e61, mnemo_head).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
kernel_tests 90
session_tests 130 "max \||split MLP"
lte_model mnemo
trace pf2 mnemo; trace head mnemo_head
for r in 1 2 3 4; do bench1k pf2 mnemo; bench1k head mnemo_head; done
trace pf2b mnemo; trace headb mnemo_head
for n in pf2 head pf2b headb; do echo "== $n"; sed -n 2,11p "$out/report_$n.txt" | grep -v "^$"; grep -E "^ +(0|1|2|3|4|5|6|7|96) " "$out/report_$n.txt"; done
rm -f "$out"/trace_*.json
pack
