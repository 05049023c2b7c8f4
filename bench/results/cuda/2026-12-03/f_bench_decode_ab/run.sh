#!/bin/bash
# test_cuda_session after its switch helper (create_cuda_session_with), and mnemo bench decode (laLTE 0.4B,
# feed + sample through the API) with the split MLP against MNEMO_CUDA_MLP_SPLIT=0, alternating twice.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/lib* /tmp/b/
session_tests 200 "split MLP|SplitDecode|owed"
for r in 1 2; do
  run_for 120 bash bench/cuda/run_device.sh /tmp/b "$out/decode_split_$r" decode > /dev/null 2>&1; echo "split $r"; grep -E "^ +[0-9]+K" "$out/decode_split_$r/decode_lte.txt"
  MNEMO_CUDA_MLP_SPLIT=0 run_for 120 bash bench/cuda/run_device.sh /tmp/b "$out/decode_gemv_$r" decode > /dev/null 2>&1; echo "gemv $r"; grep -E "^ +[0-9]+K" "$out/decode_gemv_$r/decode_lte.txt"
done
pack
