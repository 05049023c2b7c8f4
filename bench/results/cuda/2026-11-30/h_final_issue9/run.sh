#!/bin/bash
# Final binary (f4f67de): graph decode and the 97 GEMVs against the session's start (6614a75, *_before), then
# issue9 at the defaults (0.4B laLTE / GDN+Attn and 1.4B laLTE, 1K/16K/128K, with the PyTorch reference).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
rm -f "$out/graph_summary.txt"
for v in gemv_bench gemv_bench_before; do echo "== $v"; run_for 40 "$here/$v" --reps 20 2>&1 | grep -E "^bf16 |^q8|bandwidth|empty"; done 2>&1 | tee "$out/gemv_ab.txt"
lte_model mnemo
for r in 1 2; do graph final mnemo 1024; graph before mnemo_before 1024; done
graph final mnemo 16384; graph final mnemo 131072; graph before mnemo_before 131072
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/lib* /tmp/b/
run_for 420 bash bench/cuda/run_device.sh /tmp/b "$out/issue9" issue9 > "$out/issue9.log" 2>&1; grep "^| [0-9]" "$out/issue9/issue9_cuda.md"
pack
