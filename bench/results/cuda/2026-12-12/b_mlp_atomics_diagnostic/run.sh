#!/bin/bash
# 2026-12-12 b (diagnostic, wrong outputs): the split MLP's down atomics — 132 blocks x 1 024 u64 adds onto one 8 KB sum —
# left out (1), sent to a region per block (2), or half of them left out (3): does the input projection after the MLP wait on them?
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee "$out/gpu.txt"
lte_model mnemo
declare -A cfg=([base]="" [none]="MNEMO_DBG_ATOM=1" [private]="MNEMO_DBG_ATOM=2" [half]="MNEMO_DBG_ATOM=3")
order="base none private half"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2 3; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,24p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
