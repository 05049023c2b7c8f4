#!/bin/bash
# The decode GEMVs on 1 block an SM (MNEMO_CUDA_GEMV_BLOCKS_PER_SM=1: with 122 registers a thread two blocks
# still fit, so the next kernel's blocks can be resident beside a GEMV's) against the default 2, with the
# final binary (3be2087): graph decode at 1K alternating, then gemv_bench at 1 and 2.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
lte_model mnemo
for r in 1 2 3; do graph bps2 mnemo 1024; graph bps1 mnemo 1024 MNEMO_CUDA_GEMV_BLOCKS_PER_SM=1; done
for b in 2 1; do echo "blocks per SM $b"; MNEMO_CUDA_GEMV_BLOCKS_PER_SM=$b run_for 40 "$here/gemv_bench" 2>&1 | grep -E "^bf16"; done | tee "$out/gemv_bench.txt"
pack
