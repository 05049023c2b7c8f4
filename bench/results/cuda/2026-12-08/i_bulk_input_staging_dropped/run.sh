#!/bin/bash
# One-token GEMVs' and the split MLP's input rows staged by bulk copies (MNEMO_CUDA_BULK_INPUT=0 the baseline): traces, bench; tests; memcheck.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=575
lte_model mnemo
ab_switch MNEMO_CUDA_BULK_INPUT=0
kernel_tests 100
session_tests 150 "lalte chunk 256|gdn_attn chunk 256|agreed|split MLP"
memcheck 120
pack
