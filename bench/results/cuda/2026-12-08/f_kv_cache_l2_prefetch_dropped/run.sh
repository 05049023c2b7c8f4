#!/bin/bash
# The LTE q/k/v GEMV requests the layer's cache into L2 past its wait (MNEMO_CUDA_KV_PREFETCH=0 baseline): traces and bench A/B.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
lte_model mnemo
ab_switch MNEMO_CUDA_KV_PREFETCH=0
pack
