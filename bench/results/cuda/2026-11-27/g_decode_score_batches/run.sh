#!/bin/bash
# Decode steps score LTE tokens in batches of up to 16 (side stream): session tests, decode through the graph against 9a68f2b (mnemo_before) and against MNEMO_CUDA_SCORE_BATCH=1 / 4, memcheck.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=330
rm -f "$out/graph_summary.txt"
session_tests 150 "lalte|gdn_attn|owed"
lte_model mnemo
for r in 1 2 3; do graph batch16 mnemo 1024; graph before mnemo_before 1024; graph batch1 mnemo 1024 MNEMO_CUDA_SCORE_BATCH=1; done
graph batch4 mnemo 1024 MNEMO_CUDA_SCORE_BATCH=4
graph batch16 mnemo 16384; graph batch16 mnemo 131072
run_for 60 "$here/mnemo" bench -m "$bf" --backend cuda --contexts 1K,16K --decode-tokens 64 --no-roofline 2>/dev/null | grep -E "^ *(1K|16K) " | sed "s/^/mnemo /" | tee -a "$out/ab_feed.txt"
run_for 60 "$here/mnemo_before" bench -m "$bf" --backend cuda --contexts 1K,16K --decode-tokens 64 --no-roofline 2>/dev/null | grep -E "^ *(1K|16K) " | sed "s/^/mnemo_before /" | tee -a "$out/ab_feed.txt"
run_for 100 compute-sanitizer --tool memcheck "$here/test_cuda_session" --gtest_filter="*Batches*:*TokenByToken*/lalte:*PrefillDecodeAndCaches*/lalte" > "$out/memcheck_session.log" 2>&1; tail -2 "$out/memcheck_session.log"
pack
