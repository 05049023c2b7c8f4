#!/bin/bash
# The LM head's fused argmax, the folded embedding (null-clear fixed), the early-heavy MLP split, the unsynchronised feed:
# tests + memcheck; traces; bench A/B at 1K; bench at 1K/16K/128K.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"  # trace, bench1k
budget=575
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/test_cuda "$here"/test_cuda_session "$here"/lib* /tmp/b/
run_for 300 bash bench/cuda/run_device.sh /tmp/b "$out/final" tests memcheck 2>&1 | tail -30
lte_model mnemo
trace new mnemo
trace nofused mnemo MNEMO_CUDA_FUSED_ARGMAX=0
trace before mnemo_before
for r in 1 2 3; do bench1k new mnemo; bench1k before mnemo_before; bench1k nofused mnemo MNEMO_CUDA_FUSED_ARGMAX=0; done
r=0; graph new mnemo 1024; graph before mnemo_before 1024; graph new mnemo 16384; graph new mnemo 131072
run_for 150 bash bench/cuda/run_device.sh /tmp/b "$out/decode_new" decode 2>&1 | grep -E "^ +[0-9]+K|decode p50"
pack
