#!/bin/bash
# One-token GEMVs' and the split MLP's input rows staged by bulk copies (MNEMO_CUDA_BULK_INPUT=0 the baseline): traces, bench; tests; memcheck.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=575
lte_model mnemo
trace on mnemo
trace off mnemo MNEMO_CUDA_BULK_INPUT=0
for r in 1 2 3; do bench1k on mnemo; bench1k off mnemo MNEMO_CUDA_BULK_INPUT=0; done
trace on2 mnemo
trace off2 mnemo MNEMO_CUDA_BULK_INPUT=0
for f in on off on2 off2; do echo "== $f"; sed -n 6,9p $out/report_$f.txt; done
kernel_tests 100
session_tests 150 "lalte chunk 256|gdn_attn chunk 256|agreed|split MLP"
memcheck 120
pack
