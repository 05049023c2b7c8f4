#!/bin/bash
# Why the split MLP saves 83 us a step in gemv_bench but ~15 us in graph decode: ncu kernel durations
# over 16 greedy steps with and without it, and graph decode without PDL for both.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/lib* /tmp/b/
run_for 150 bash bench/cuda/run_device.sh /tmp/b "$out/prof_split" profile > "$out/prof_split.log" 2>&1
MNEMO_CUDA_MLP_SPLIT=0 run_for 150 bash bench/cuda/run_device.sh /tmp/b "$out/prof_gemv" profile > "$out/prof_gemv.log" 2>&1
head -30 "$out/prof_split/ncu_decode_summary.txt"; echo ----; head -30 "$out/prof_gemv/ncu_decode_summary.txt"
lte_model mnemo
for r in 1 2; do graph split_nopdl mnemo 1024 MNEMO_CUDA_PDL=0; graph gemv_nopdl mnemo 1024 MNEMO_CUDA_MLP_SPLIT=0 MNEMO_CUDA_PDL=0; done
pack
