#!/bin/bash
# Upper bound of folding o_proj into the mixer (outputs wrong by design; patch in this folder):
# MNEMO_OPROJ_SKIP=1 leaves out the LTE layers' o_proj GEMV and lets the MLP's input norm sum 16
# per-head partial vectors (as a fused o_proj would leave them); 2 the same for the GDN layers (8
# partials); 4 added: no partials (the GEMV left out only). Graph decode at 1K, alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=420
lte_model mnemo
for r in 1 2 3; do for k in 0 1 5 2 3 7; do graph skip_$k mnemo 1024 MNEMO_OPROJ_SKIP=$k; done; done
pack
