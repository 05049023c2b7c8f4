#!/bin/bash
# Chunk attention without key splits where the chunk's tiles fill the GPU; chunk_tokens auto (2048 on CUDA); against ba9faa5. Then issue9 at the defaults.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=575
kernel_tests 90
session_tests 150 "lalte|gdn_attn|q8"
lte_model mnemo
ab() { local b c; for c in auto 4096; do for b in mnemo mnemo_before mnemo mnemo_before; do
  run_for 60 "$here/$b" bench -m "$bf" --backend cuda --contexts 1K,16K --decode-tokens 4 --chunk $( [[ $c == auto && $b == mnemo_before ]] && echo 2048 || echo $c ) --no-roofline 2>/dev/null | grep -E "^ *(1K|16K) " | sed "s/^/$b chunk $c /" | tee -a "$out/ab_prefill.txt"; done; done; }
ab
head -c 1024 /tmp/prompt.txt > /tmp/p.txt
run_for 30 "$here/mnemo" run -m "$bf" -f /tmp/p.txt -n 8 --backend cuda --json --quiet > "$out/run_default_chunk.json" 2>&1; grep -o '"chunk[a-z_]*": *[0-9]*' "$out/run_default_chunk.json"
for r in 1 2; do graph new mnemo 1024; graph before mnemo_before 1024; done
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/lib* /tmp/b/
run_for 280 bash bench/cuda/run_device.sh /tmp/b "$out/issue9" issue9 > "$out/issue9.log" 2>&1; tail -30 "$out/issue9.log"
pack
