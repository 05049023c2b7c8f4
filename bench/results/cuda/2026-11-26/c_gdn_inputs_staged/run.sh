#!/bin/bash
# GDN pass 1: P and A in 4x4 register tiles, inputs staged with cp.async; pass 3 inputs staged with cp.async; against HEAD (9695a51).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=500
kernel_tests 90
session_tests 150 "lalte|gdn_attn|q8"
lte_model mnemo
ab() { local b c; for c in 2048 4096; do for b in mnemo mnemo_before mnemo mnemo_before; do
  run_for 60 "$here/$b" bench -m "$bf" --backend cuda --contexts 1K,16K --decode-tokens 4 --chunk $c --no-roofline 2>/dev/null | grep -E "^ *(1K|16K) " | sed "s/^/$b chunk $c /" | tee -a "$out/ab_prefill.txt"; done; done; }
ab
head -c 8192 /tmp/prompt.txt > /tmp/p8k.txt
run_for 100 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv "$here/mnemo" run -m "$bf" -f /tmp/p8k.txt -n 1 --backend cuda --chunk 4096 > "$out/ncu_4096.csv" 2>"$out/ncu_4096.log"
python3 "$here/sum.py" "$out/ncu_4096.csv" > "$out/ncu_4096_summary.txt"; head -16 "$out/ncu_4096_summary.txt"
run_for 100 compute-sanitizer --tool memcheck "$here/test_cuda" --gtest_filter="*GatedDelta*" > "$out/memcheck_gdn.log" 2>&1; tail -3 "$out/memcheck_gdn.log"; gzip -f "$out/ncu_4096.csv"
pack
