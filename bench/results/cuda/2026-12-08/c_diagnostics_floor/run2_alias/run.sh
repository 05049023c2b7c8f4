#!/bin/bash
# Diagnostic: every layer's weights aliased to the first layer of its kind (MLPs to layer 0's), so they come from L2.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
lte_model mnemo
trace base mnemo MNEMO_CUDA_GEMV_AHEAD=1
trace alias mnemo MNEMO_CUDA_GEMV_AHEAD=1 MNEMO_DBG_ALIAS_WEIGHTS=1
trace alias_a2 mnemo MNEMO_DBG_ALIAS_WEIGHTS=1
trace base2 mnemo MNEMO_CUDA_GEMV_AHEAD=1
for r in 1 2; do bench1k base mnemo MNEMO_CUDA_GEMV_AHEAD=1; bench1k alias mnemo MNEMO_CUDA_GEMV_AHEAD=1 MNEMO_DBG_ALIAS_WEIGHTS=1; done
pack
