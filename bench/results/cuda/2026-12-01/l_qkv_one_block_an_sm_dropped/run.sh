#!/bin/bash
# The LTE layers' q/k/v GEMV on a grid of 1 block an SM (MNEMO_CUDA_QKV_BLOCKS_PER_SM=1), so half of every SM's
# registers stay free and kv_decode's blocks can start beside it and copy the cache early; against the default grid
# (2 an SM) in the same binary, alternating. Graph decode at 1K and 128K; mnemo bench p50/mean at 1K.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
lte_model mnemo
for r in 1 2 3 4; do for b in 1 0; do graph qkv_blocks_$b mnemo 1024 MNEMO_CUDA_QKV_BLOCKS_PER_SM=$b; done; done
for b in 1 0; do graph qkv_blocks_$b mnemo 131072 MNEMO_CUDA_QKV_BLOCKS_PER_SM=$b; done
pack
