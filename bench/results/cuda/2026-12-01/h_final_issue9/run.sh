#!/bin/bash
# Final binary of the session (a76c67a: commit in kv_decode, greedy sample on the device): issue9 at the defaults
# (0.4B laLTE / GDN+Attn and 1.4B laLTE, 1K/16K/128K, with the PyTorch reference in the same run).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/lib* /tmp/b/
run_for 560 bash bench/cuda/run_device.sh /tmp/b "$out/issue9" issue9 > "$out/issue9.log" 2>&1; grep "^| [0-9]\|^| la\|^| GDN\|^| |" "$out/issue9/issue9_cuda.md" | head -30
pack
