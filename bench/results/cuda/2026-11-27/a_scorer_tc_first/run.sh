#!/bin/bash
# LTE scorer on tensor cores (3xTF32 layer kernel, tail with mma layers), against a4d99cf (mnemo_before).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
kernel_tests 60
grep -E "scorer head size" "$out/test_cuda.log"
session_tests 150 "lalte|gdn_attn"
lte_model mnemo
for b in mnemo mnemo_before mnemo mnemo_before; do
  run_for 60 "$here/$b" bench -m "$bf" --backend cuda --contexts 1K,16K --decode-tokens 4 --no-roofline 2>/dev/null | grep -E "^ *(1K|16K) " | sed "s/^/$b lte chunk auto /" | tee -a "$out/ab_prefill.txt"; done
head -c 8192 /tmp/prompt.txt > /tmp/p8k.txt
run_for 100 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv "$here/mnemo" run -m "$bf" -f /tmp/p8k.txt -n 1 --backend cuda > "$out/ncu_4096.csv" 2>"$out/ncu_4096.log"
python3 "$here/sum.py" "$out/ncu_4096.csv" > "$out/ncu_4096_summary.txt"; head -24 "$out/ncu_4096_summary.txt"; gzip -f "$out/ncu_4096.csv"
run_for 80 compute-sanitizer --tool memcheck "$here/test_cuda" --gtest_filter="*LteScorer*" > "$out/memcheck.log" 2>&1; tail -2 "$out/memcheck.log"
pack
