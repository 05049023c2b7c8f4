#!/bin/bash
# Final binary (d4435c6, the split MLP): kernel and session tests, memcheck (run_device.sh memcheck, whose
# session filter now takes the split-MLP test), mnemo bench decode (laLTE 0.4B, 1K/16K/128K) and graph
# decode against MNEMO_CUDA_MLP_SPLIT=0.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/test_cuda "$here"/test_cuda_session "$here"/gemv_bench "$here"/lib* /tmp/b/
kernel_tests 120
session_tests 200 "split MLP|lalte chunk|gdn_attn chunk|greedy"
run_for 170 bash bench/cuda/run_device.sh /tmp/b "$out/memcheck" memcheck > "$out/memcheck.log" 2>&1; tail -6 "$out/memcheck.log"
run_for 150 bash bench/cuda/run_device.sh /tmp/b "$out/decode" decode > "$out/decode.log" 2>&1; cat "$out/decode/decode_lte.txt" | tail -12
lte_model mnemo
for r in 1 2; do graph split mnemo 1024; graph gemv mnemo 1024 MNEMO_CUDA_MLP_SPLIT=0; done
pack
