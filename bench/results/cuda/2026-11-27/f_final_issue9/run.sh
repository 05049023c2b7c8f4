#!/bin/bash
# Final binary (9a68f2b): issue9 at the defaults, generation through the graph at 1K/16K/128K, memcheck of the session parity tests.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
lte_model mnemo
graph final mnemo 1024; graph final mnemo 16384; graph final mnemo 131072
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/lib* /tmp/b/
run_for 320 bash bench/cuda/run_device.sh /tmp/b "$out/issue9" issue9 > "$out/issue9.log" 2>&1; grep "^| [0-9]" "$out/issue9/issue9_cuda.md"
run_for 150 compute-sanitizer --tool memcheck "$here/test_cuda_session" --gtest_filter='*PrefillDecodeAndCaches*:*Q8*:*q8*' > "$out/memcheck_session.log" 2>&1; tail -3 "$out/memcheck_session.log"
pack
