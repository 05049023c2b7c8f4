#!/bin/bash
# Scorer v2 (NT templates, integer tf32 split, slab 32, tail 4 tiles a warp) and chunk attention at 4 blocks an SM (mnemo_attn4), against a4d99cf.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=420
kernel_tests 60
grep -E "scorer head size" "$out/test_cuda.log"
session_tests 150 "lalte|gdn_attn"
lte_model mnemo
for r in 1 2; do for b in mnemo mnemo_attn4 mnemo_before; do
  run_for 60 "$here/$b" bench -m "$bf" --backend cuda --contexts 1K,16K --decode-tokens 4 --no-roofline 2>/dev/null | grep -E "^ *(1K|16K) " | sed "s/^/$b lte chunk auto /" | tee -a "$out/ab_prefill.txt"; done; done
head -c 8192 /tmp/prompt.txt > /tmp/p8k.txt
for b in mnemo mnemo_attn4; do
run_for 100 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv "$here/$b" run -m "$bf" -f /tmp/p8k.txt -n 1 --backend cuda > "$out/ncu_$b.csv" 2>"$out/ncu_$b.log"
python3 "$here/sum.py" "$out/ncu_$b.csv" > "$out/ncu_${b}_summary.txt"; head -12 "$out/ncu_${b}_summary.txt"; gzip -f "$out/ncu_$b.csv"; done
run_for 80 compute-sanitizer --tool memcheck "$here/test_cuda" --gtest_filter="*LteScorer*" > "$out/memcheck.log" 2>&1; tail -2 "$out/memcheck.log"
pack
