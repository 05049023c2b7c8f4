#!/bin/bash
# GEMV with two passes ahead (MNEMO_CUDA_GEMV_AHEAD=1 baseline), traces + bench A/B; MLP plain-store diagnostic; tests.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=575
lte_model mnemo
trace a1 mnemo MNEMO_CUDA_GEMV_AHEAD=1
trace a2 mnemo
for r in 1 2 3; do bench1k a1 mnemo MNEMO_CUDA_GEMV_AHEAD=1; bench1k a2 mnemo; done
trace a1b mnemo MNEMO_CUDA_GEMV_AHEAD=1
trace a2b mnemo
trace mlpstore mnemo MNEMO_DBG_MLP_STORE=1
kernel_tests 120
session_tests 200 "GemvWithTwo|maxima|golden"
pack
