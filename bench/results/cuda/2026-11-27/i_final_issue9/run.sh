#!/bin/bash
# Final binary (decode scores in batches on top of 9a68f2b): kernel and session tests, graph decode against 9a68f2b (mnemo_before), issue9 at the defaults, memcheck of the session parity tests.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
rm -f "$out/graph_summary.txt"
kernel_tests 60
session_tests 150 "lalte|gdn_attn|owed"
lte_model mnemo
for r in 1 2; do graph final mnemo 1024; graph before mnemo_before 1024; done
graph final mnemo 16384; graph final mnemo 131072
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/lib* /tmp/b/
run_for 320 bash bench/cuda/run_device.sh /tmp/b "$out/issue9" issue9 > "$out/issue9.log" 2>&1; grep "^| [0-9]" "$out/issue9/issue9_cuda.md"
run_for 120 compute-sanitizer --tool memcheck "$here/test_cuda_session" --gtest_filter='*PrefillDecodeAndCaches*:*Batches*:*TokenByToken*/lalte' > "$out/memcheck_session.log" 2>&1; tail -3 "$out/memcheck_session.log"
pack
