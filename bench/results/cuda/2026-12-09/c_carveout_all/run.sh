#!/bin/bash
# 2026-12-09 c: every kernel launched with one preferred shared-memory carveout (MNEMO_CUDA_CARVEOUT=P percent; unset: the driver's choice), so the decode kernels need no L1/shared reconfiguration between them.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
lte_model mnemo
declare -A cfg=([base]="" [c0]="MNEMO_CUDA_CARVEOUT=0" [c8]="MNEMO_CUDA_CARVEOUT=8" [c50]="MNEMO_CUDA_CARVEOUT=50")
order="base c0 c8 c50"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2 3; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 6,9p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
