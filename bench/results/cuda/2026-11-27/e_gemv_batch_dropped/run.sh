#!/bin/bash
# Decode through the graph: 9a68f2b (mnemo_nogemv), + GEMV input batching (mnemo), a4d99cf (mnemo_before); ncu of 16 decode steps for each.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
lte_model mnemo
for r in 1 2 3; do graph nogemv mnemo_nogemv 1024; graph new mnemo 1024; graph before mnemo_before 1024; done
head -c 200 /tmp/prompt.txt > /tmp/p200.txt
for b in mnemo mnemo_nogemv mnemo_before; do
run_for 60 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv "$here/$b" run -m "$bf" -f /tmp/p200.txt -n 16 --backend cuda > "$out/ncu_dec_$b.csv" 2>"$out/ncu_dec_$b.log"
python3 "$here/sum.py" "$out/ncu_dec_$b.csv" > "$out/ncu_dec_${b}_summary.txt"; head -14 "$out/ncu_dec_${b}_summary.txt"; gzip -f "$out/ncu_dec_$b.csv"; done
pack
