#!/bin/bash
# 2026-12-14 a: kv_decode's blocks take every 8th slot and skip the retained slots that hold no
# token; the next step's first GEMV's matrices (and embedding row) prefetched into L2 at a step's
# end (MNEMO_CUDA_PREFETCH_STEP_START, on). Tests, traces and mnemo bench at 1K against HEAD
# (mnemo_base, c7eabaa) and against the new binary with the prefetch off (nopf).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
kernel_tests 90
grep -E "max \|out diff\|" "$out/test_cuda.log" | head -20
session_tests 130 "max \||agreed|sampled the CPU|split MLP"
lte_model mnemo
trace new mnemo; trace nopf mnemo MNEMO_CUDA_PREFETCH_STEP_START=0; trace base mnemo_base
for r in 1 2 3; do bench1k new mnemo; bench1k nopf mnemo MNEMO_CUDA_PREFETCH_STEP_START=0; bench1k base mnemo_base; done
for n in new nopf base; do echo "== $n"; sed -n 1,12p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.json
pack
