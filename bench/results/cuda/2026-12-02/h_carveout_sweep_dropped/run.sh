#!/bin/bash
# Every kernel's preferred shared-memory carveout set to one value (MNEMO_CUDA_CARVEOUT, percent; patch), so
# an SM need not change its split between the GEMVs (4-11 KB a block) and kv_decode (~98 KB): default, 44
# (100 KB, kv_decode's), 58 (132 KB), 100 (run1/); then 0, 4, 12, 25 (run2/: CARVEOUTS="0 4 12 25"), graph decode at 1K alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
lte_model mnemo
for r in 1 2 3; do graph default mnemo 1024; for c in ${CARVEOUTS:-44 58 100}; do graph carveout_$c mnemo 1024 MNEMO_CUDA_CARVEOUT=$c; done; done
pack
