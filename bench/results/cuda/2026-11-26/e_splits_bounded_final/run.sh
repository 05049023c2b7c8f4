#!/bin/bash
# Splits bounded by the keys a tile can see (sink + retained + window); against ba9faa5: attn 16K/128K, lte 16K.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
session_tests 150 "lalte|gdn_attn"
lte_model mnemo
for b in mnemo mnemo_before mnemo mnemo_before; do
  run_for 80 "$here/$b" bench --shape paper-0.4b --mixer attn --type bf16 --backend cuda --contexts 16K,128K --decode-tokens 4 --chunk 4096 --no-roofline --model-dir "$models" 2>/dev/null | grep -E "^ *(16K|128K) " | sed "s/^/$b attn chunk 4096 /" | tee -a "$out/ab_prefill.txt"; done
for b in mnemo mnemo_before; do
  run_for 60 "$here/$b" bench -m "$bf" --backend cuda --contexts 16K --decode-tokens 4 --no-roofline 2>/dev/null | grep -E "^ *(16K) " | sed "s/^/$b lte chunk auto(4096) /" | tee -a "$out/ab_prefill.txt"; done
pack
