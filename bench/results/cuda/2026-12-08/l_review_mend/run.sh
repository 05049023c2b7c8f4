#!/bin/bash
# Review mend: the input norms' load-first sums through one helper (GEMV and split MLP) against 5d369d2's code; tests; memcheck.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=500
lte_model mnemo
for r in 1 2 3 4; do bench1k new mnemo; bench1k before mnemo_before; done
kernel_tests 100
session_tests 150 "lalte chunk 256|gdn_attn chunk 256|agreed|split MLP"
memcheck 120
pack
