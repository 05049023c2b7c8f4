#!/bin/bash
# Exploration: prefill chunk size sweep; a 2 x 4K-chunk kernel profile; GEMM batching shapes in torch.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
date; nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv
run_for 60 python3 "$here/gemm.py" 2>&1 | tee "$out/gemm_batching.txt"
lte_model mnemo
for c in 1024 2048 4096 8192 512 1024 2048 4096; do
  run_for 60 "$here/mnemo" bench -m "$bf" --backend cuda --contexts 16K --decode-tokens 4 --chunk $c --no-roofline 2>/dev/null | grep -E "^ *16K " | sed "s/^/chunk $c /" | tee -a "$out/chunk_sweep.txt"
done
run_for 90 "$here/mnemo" bench -m "$bf" --backend cuda --contexts 1K,128K --decode-tokens 4 --chunk 4096 --no-roofline 2>/dev/null | grep -E "^ *(1K|128K) " | sed "s/^/chunk 4096 /" | tee -a "$out/chunk_sweep.txt"
date
head -c 8192 /tmp/prompt.txt > /tmp/p8k.txt
for c in 4096 1024; do
run_for 150 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv "$here/mnemo" run -m "$bf" -f /tmp/p8k.txt -n 1 --backend cuda --chunk $c > "$out/ncu_$c.csv" 2>"$out/ncu_$c.log"
python3 "$here/sum.py" "$out/ncu_$c.csv" > "$out/ncu_${c}_summary.txt"; head -32 "$out/ncu_${c}_summary.txt"; gzip -f "$out/ncu_$c.csv"
done
date
pack
