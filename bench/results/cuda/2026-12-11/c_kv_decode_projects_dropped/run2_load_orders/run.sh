#!/bin/bash
# 2026-12-11 d: kv_decode projecting q/k/v, three orders of its loads (MNEMO_CUDA_DECODE_PROJECT_ORDER 0: cache copies then
# weights before the wait; 1: weights then copies; 2: weights before the wait, copies after the projection), o_proj's grid
# and the split MLP's early runs beside it, against the GEMV launch (MNEMO_CUDA_DECODE_PROJECT=0).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > "$out/gpu.txt"
lte_model mnemo
declare -A cfg=([gemv]="MNEMO_CUDA_DECODE_PROJECT=0" [o0]="MNEMO_CUDA_DECODE_PROJECT_ORDER=0" [o1]="MNEMO_CUDA_DECODE_PROJECT_ORDER=1"
  [o2]="MNEMO_CUDA_DECODE_PROJECT_ORDER=2" [o2_ofull]="MNEMO_CUDA_DECODE_PROJECT_ORDER=2 MNEMO_CUDA_O_HALF=0"
  [o2_even]="MNEMO_CUDA_DECODE_PROJECT_ORDER=2 MNEMO_CUDA_MLP_EARLY_RUNS=0" [gemv_ofull]="MNEMO_CUDA_DECODE_PROJECT=0 MNEMO_CUDA_O_HALF=0")
order="gemv o0 o1 o2 o2_ofull o2_even gemv_ofull"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,3p "$out/report_$n.txt"; sed -n 6,9p "$out/report_$n.txt"; sed -n 14,22p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
