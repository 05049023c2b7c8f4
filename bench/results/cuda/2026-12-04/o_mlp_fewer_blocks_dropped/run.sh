#!/bin/bash
# The split MLP on fewer blocks (EXP_MLP_BLOCKS; at most 3 runs of 8 rows a block either way, so no block does more):
# more of its blocks fit beside o_proj, and SMs are left for the next projections' first blocks.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
lte_model mnemo
for r in 1 2 3; do graph base mnemo 1024; for b in 118 124; do graph mlp$b mnemo 1024 EXP_MLP_BLOCKS=$b; done; done
pack
