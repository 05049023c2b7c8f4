#!/bin/bash
# Diagnostics: weights from L2 (aliased layers, plain loads), no weight loads at all, MLP plain stores.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
export MNEMO_CUDA_GEMV_AHEAD=1
lte_model mnemo
trace base mnemo
trace ldg mnemo MNEMO_DBG_LOAD=1
trace alias_ldg mnemo MNEMO_DBG_ALIAS_WEIGHTS=1 MNEMO_DBG_LOAD=1
trace noload mnemo MNEMO_DBG_LOAD=2
trace mlpstore mnemo MNEMO_DBG_MLP_STORE=1
trace base2 mnemo
grep -h DBG $out/*.log | sort | uniq -c
pack
