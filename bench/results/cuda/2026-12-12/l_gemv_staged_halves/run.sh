#!/bin/bash
# 2026-12-12 l: the GEMV's staged input split into halves (MNEMO_CUDA_GEMV_SPLIT_HALVES=1: each 16-byte weight vector's
# 8 inputs as two float4s a lane reads without bank conflicts). Tests with it on; traces and mnemo bench against it off.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
export MNEMO_CUDA_GEMV_SPLIT_HALVES=1
kernel_tests 110
session_tests 200 "max \||agreed|sampled the CPU|split MLP"
unset MNEMO_CUDA_GEMV_SPLIT_HALVES
lte_model mnemo
declare -A cfg=([base]="" [split]="MNEMO_CUDA_GEMV_SPLIT_HALVES=1")
order="base split"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2 3 4; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,24p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz "$out"/trace_*.json
pack
