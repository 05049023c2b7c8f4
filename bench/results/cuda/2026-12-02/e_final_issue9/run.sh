#!/bin/bash
# Final binary of the session (3be2087: GDN's grouped output norm read ahead in the GEMV): memcheck on the
# session's and kernels' tests, then issue9 at the defaults (0.4B laLTE / GDN+Attn and 1.4B laLTE,
# 1K/16K/128K, with the PyTorch reference in the same run).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/test_cuda "$here"/test_cuda_session "$here"/gemv_bench "$here"/lib* /tmp/b/
run_for 170 bash bench/cuda/run_device.sh /tmp/b "$out/memcheck" memcheck > "$out/memcheck.log" 2>&1; tail -6 "$out/memcheck.log"
run_for 400 bash bench/cuda/run_device.sh /tmp/b "$out/issue9" issue9 > "$out/issue9.log" 2>&1; grep "^| [0-9]\|^| la\|^| GDN\|^| |" "$out/issue9/issue9_cuda.md" | head -30
pack
