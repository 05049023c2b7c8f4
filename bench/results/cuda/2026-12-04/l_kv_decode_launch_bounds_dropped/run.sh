#!/bin/bash
# kv_decode compiled for two blocks an SM (__launch_bounds__(256, 2): 90 registers, where ptxas chose 80) against
# 7122460 (mnemo_before), alternating in one lease: graph decode and mnemo bench; tests and memcheck.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
lte_model mnemo
ab_decode 4
mkdir -p /tmp/b /tmp/a && cp "$here"/mnemo "$here"/lib* /tmp/b/ && cp "$here"/lib* /tmp/a/ && cp "$here"/mnemo_before /tmp/a/mnemo
for r in 1 2; do
  run_for 120 bash bench/cuda/run_device.sh /tmp/b "$out/decode_new_$r" decode > /dev/null 2>&1; echo "new $r"; grep -E "^ +[0-9]+K" "$out/decode_new_$r/decode_lte.txt"
  run_for 120 bash bench/cuda/run_device.sh /tmp/a "$out/decode_before_$r" decode > /dev/null 2>&1; echo "before $r"; grep -E "^ +[0-9]+K" "$out/decode_before_$r/decode_lte.txt"
done
kernel_tests 150
session_tests 240 "split MLP|lalte chunk 256|gdn_attn chunk 256"
run_for 90 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*DecodeStep*:*GdnDecodeStep*' > "$out/memcheck_kernels.log" 2>&1; echo "memcheck kernels exit $?"; grep "ERROR SUMMARY" "$out/memcheck_kernels.log"
pack
