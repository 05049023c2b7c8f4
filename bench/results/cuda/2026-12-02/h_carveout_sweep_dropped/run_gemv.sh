#!/bin/bash
# The GEMVs' preferred carveout only (MNEMO_CUDA_CARVEOUT_GEMV, percent; patch): default, 0, 2, 4, 8 (run3/).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
lte_model mnemo
for r in 1 2 3; do graph default mnemo 1024; for c in 0 2 4 8; do graph gemv_carveout_$c mnemo 1024 MNEMO_CUDA_CARVEOUT_GEMV=$c; done; done
pack
