#!/bin/bash
# Review refactor: GDN pass 2 stages its inputs through stage_rows_async; the test's bf16 rounding via cpu::f32_to_bf16; against 38ec230.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=240
kernel_tests 60
session_tests 120 "lalte chunk|gdn_attn chunk"
lte_model mnemo
for b in mnemo mnemo_before mnemo mnemo_before; do
  run_for 40 "$here/$b" bench -m "$bf" --backend cuda --contexts 1K,16K --decode-tokens 4 --no-roofline 2>/dev/null | grep -E "^ *(1K|16K) " | sed "s/^/$b /" | tee -a "$out/ab_prefill.txt"; done
run_for 60 compute-sanitizer --tool memcheck "$here/test_cuda" --gtest_filter="*GatedDelta*:*Bf16Projections*" > "$out/memcheck.log" 2>&1; tail -2 "$out/memcheck.log"
pack
