#!/bin/bash
# mnemo bench's CUDA warm-up also feeds a piece of each context shorter than a chunk (new GEMM shapes); against the binary before.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=200
lte_model mnemo
for b in mnemo mnemo_before mnemo mnemo_before mnemo mnemo_before; do
  run_for 60 "$here/$b" bench -m "$bf" --backend cuda --contexts 1K,4K,16K --decode-tokens 4 --no-roofline 2>/dev/null | grep -E "^ *(1K|4K|16K) " | sed "s/^/$b /" | tee -a "$out/ab_prefill.txt"; done
pack
