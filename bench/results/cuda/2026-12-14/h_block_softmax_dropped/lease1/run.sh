#!/bin/bash
# 2026-12-14 h: kv_decode's softmax by every thread over the rows it scored (warps' maxima, then
# sums, meeting in shared memory; no one-warp pass): `sm` (98 registers) and `lb3` (the same held to
# 80 by __launch_bounds__(256, 3), 24 bytes spilled), against HEAD (5b5114b's code, mnemo_head).
# test_cuda and test_cuda_session (sm); traces; mnemo bench at 1K alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
kernel_tests 90
grep -E "max \|out diff\|" "$out/test_cuda.log" | head -20
session_tests 130 "max \||agreed"
lte_model mnemo
trace sm mnemo; trace lb3 mnemo_lb3; trace head mnemo_head
for r in 1 2 3 4; do bench1k sm mnemo; bench1k lb3 mnemo_lb3; bench1k head mnemo_head; done
for n in sm lb3 head; do echo "== $n"; sed -n 2,11p "$out/report_$n.txt" | grep -v "^$"; done
rm -f "$out"/trace_*.json
pack
