#!/bin/bash
# L2 prefetch of the decode step's weights: A/B of the budget and the fork point.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
date; nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv | tee $out/gpu.txt
kernel_tests 60
lte_model mnemo
for r in 1 2; do
  graph off mnemo 1024 MNEMO_CUDA_L2_PREFETCH_MB=0
  graph mb24 mnemo 1024
  graph mb12 mnemo 1024 MNEMO_CUDA_L2_PREFETCH_MB=12
  graph mb36 mnemo 1024 MNEMO_CUDA_L2_PREFETCH_MB=36
  graph mixer24 mnemo 1024 MNEMO_CUDA_L2_PREFETCH_AT=mixer
  graph mixer36 mnemo 1024 MNEMO_CUDA_L2_PREFETCH_AT=mixer MNEMO_CUDA_L2_PREFETCH_MB=36
done
graph nosideoff mnemo 1024 MNEMO_CUDA_L2_PREFETCH_MB=0 MNEMO_CUDA_SIDE_STREAM=0
graph noside24 mnemo 1024 MNEMO_CUDA_SIDE_STREAM=0
graph mb24 mnemo 16384
graph mb24 mnemo 131072
date
session_tests 150 "lalte|gdn_attn|q8"
date
pack
