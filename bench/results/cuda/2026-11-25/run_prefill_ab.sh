#!/bin/bash
# Prefill, sixth round: + GDN prepare loads its gates in parallel, RoPE on 32-bit indices, SwiGLU four values a thread; against cc052d6.

source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=590
date
kernel_tests 90
session_tests 150 "lalte|gdn_attn|q8"
lte_model mnemo
ab() { local b; for b in mnemo mnemo_before mnemo mnemo_before; do
  run_for 60 "$here/$b" bench -m "$bf" --backend cuda --contexts 1K,16K --decode-tokens 4 --chunk 1024 --no-roofline 2>/dev/null | grep -E "^ *(1K|16K) " | sed "s/^/$b /" | tee -a "$out/ab_prefill.txt"; done; }
ab
for r in 1 2; do graph new mnemo 1024; graph before mnemo_before 1024; done
date
head -c 4096 /tmp/prompt.txt > /tmp/p4k.txt
run_for 150 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv "$here/mnemo" run -m "$bf" -f /tmp/p4k.txt -n 1 --backend cuda --chunk 1024 > "$out/ncu_prefill_lte.csv" 2>"$out/ncu_prefill_lte.log"
python3 "$here/sum.py"  # bench/results/cuda/2026-11-25/ncu_sum.py "$out/ncu_prefill_lte.csv" > "$out/ncu_prefill_lte_summary.txt"; head -25 "$out/ncu_prefill_lte_summary.txt"; gzip -f "$out/ncu_prefill_lte.csv"
date
run_for 120 compute-sanitizer --tool memcheck "$here/test_cuda" --gtest_filter='*Scorer*:*Mlp*:*GatedDelta*:*ChunkPlan*:*GdnConv*' > "$out/memcheck_kernels.log" 2>&1; tail -3 "$out/memcheck_kernels.log"
date

run_for 150 compute-sanitizer --tool memcheck "$here/test_cuda_session" --gtest_filter='*PrefillDecodeAndCaches*:*Q8*:*q8*' > "$out/memcheck_session.log" 2>&1; tail -3 "$out/memcheck_session.log"
date
pack
