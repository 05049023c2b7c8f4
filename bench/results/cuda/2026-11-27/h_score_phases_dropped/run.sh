#!/bin/bash
# Batched decode scoring with a phase per LTE layer (mnemo) against the same without phases (mnemo_nophase) and 9a68f2b (mnemo_before): session tests, graph decode, feeds p50/p99, memcheck.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=330
rm -f "$out/graph_summary.txt" "$out/ab_feed.txt"
session_tests 150 "lalte|gdn_attn|owed"
lte_model mnemo
for r in 1 2 3; do graph phase mnemo 1024; graph nophase mnemo_nophase 1024; graph before mnemo_before 1024; done
graph phase mnemo 16384; graph phase mnemo 131072
for r in 1 2; do for b in mnemo mnemo_nophase mnemo_before; do
run_for 60 "$here/$b" bench -m "$bf" --backend cuda --contexts 1K,16K --decode-tokens 128 --no-roofline 2>/dev/null | grep -E "^ *(1K|16K) " | sed "s/^/$b /" | tee -a "$out/ab_feed.txt"; done; done
run_for 100 compute-sanitizer --tool memcheck "$here/test_cuda_session" --gtest_filter="*Batches*:*TokenByToken*/lalte:*PrefillDecodeAndCaches*/lalte" > "$out/memcheck_session.log" 2>&1; tail -2 "$out/memcheck_session.log"
pack
