#!/bin/bash
# The merged kernels (scorer on tensor cores, attention at 4 blocks an SM) + the GEMV's normalised input loaded in batches: tests, decode A/B through the graph against a4d99cf, prefill A/B, memcheck.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=330
kernel_tests 60
grep -E "scorer head size" "$out/test_cuda.log"
session_tests 150 "lalte|gdn_attn"
lte_model mnemo
ab_decode 3
for b in mnemo mnemo_before mnemo mnemo_before; do
  run_for 60 "$here/$b" bench -m "$bf" --backend cuda --contexts 1K,16K --decode-tokens 4 --no-roofline 2>/dev/null | grep -E "^ *(1K|16K) " | sed "s/^/$b lte chunk auto /" | tee -a "$out/ab_prefill.txt"; done
run_for 120 compute-sanitizer --tool memcheck "$here/test_cuda_session" --gtest_filter="*PrefillDecodeAndCaches*:*TokenByToken*" > "$out/memcheck_session.log" 2>&1; tail -2 "$out/memcheck_session.log"
run_for 60 compute-sanitizer --tool memcheck "$here/test_cuda" --gtest_filter="*LteScorer*:*Window*:*Mlp*" > "$out/memcheck_kernels.log" 2>&1; tail -2 "$out/memcheck_kernels.log"
pack
