#!/bin/bash
# The LTE q/k/v GEMV requests the layer's cache into L2 past its wait (MNEMO_CUDA_KV_PREFETCH=0 baseline): traces and bench A/B.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
lte_model mnemo
trace on mnemo
trace off mnemo MNEMO_CUDA_KV_PREFETCH=0
for r in 1 2 3; do bench1k on mnemo; bench1k off mnemo MNEMO_CUDA_KV_PREFETCH=0; done
trace on2 mnemo
trace off2 mnemo MNEMO_CUDA_KV_PREFETCH=0
for f in on off on2 off2; do echo "== $f"; sed -n 6,9p $out/report_$f.txt; done
pack
