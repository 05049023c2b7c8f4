#!/bin/bash
# Final: key splits bounded at ~2K keys each; chunk_tokens auto = 4096 on CUDA; against ba9faa5. Then issue9 at the defaults.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=585
kernel_tests 90
session_tests 150 "lalte|gdn_attn|q8"
lte_model mnemo
for b in mnemo mnemo_before mnemo mnemo_before; do
  run_for 60 "$here/$b" bench -m "$bf" --backend cuda --contexts 1K,16K --decode-tokens 4 --chunk 4096 --no-roofline 2>/dev/null | grep -E "^ *(1K|16K) " | sed "s/^/$b lte chunk 4096 /" | tee -a "$out/ab_prefill.txt"; done
for b in mnemo mnemo_before; do
  run_for 80 "$here/$b" bench --shape paper-0.4b --mixer attn --type bf16 --backend cuda --contexts 16K,128K --decode-tokens 4 --chunk 4096 --no-roofline --model-dir "$models" 2>/dev/null | grep -E "^ *(16K|128K) " | sed "s/^/$b attn chunk 4096 /" | tee -a "$out/ab_prefill.txt"; done
for r in 1; do graph new mnemo 1024; graph before mnemo_before 1024; done
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/lib* /tmp/b/
run_for 300 bash bench/cuda/run_device.sh /tmp/b "$out/issue9" issue9 > "$out/issue9.log" 2>&1; grep -A6 "paper-0.4b/lte\|paper-0.4b/attn\|paper-1.4b/lte" "$out/issue9/issue9_cuda.md" | grep "^| [0-9]"
pack
