#!/bin/bash
# Greedy generation (mnemo run, the graph) A/B in more rounds: new, new with the argmax launch kept, before.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
lte_model mnemo
for r in 1 2 3 4 5; do graph new mnemo 1024; graph before mnemo_before 1024; graph nofused mnemo 1024 MNEMO_CUDA_FUSED_ARGMAX=0; done
graph new mnemo 16384; graph new mnemo 131072; graph before mnemo_before 16384; graph before mnemo_before 131072
pack
