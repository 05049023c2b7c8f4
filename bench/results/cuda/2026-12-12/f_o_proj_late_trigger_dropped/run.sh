#!/bin/bash
# 2026-12-12 f: o_proj lets the split MLP launch only once its input is staged (MNEMO_CUDA_O_LATE=1: GDN layers, 2: all),
# so the MLP's early loads do not queue ahead of o_proj's staging.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
lte_model mnemo
declare -A cfg=([base]="" [late_gdn]="MNEMO_CUDA_O_LATE=1" [late_all]="MNEMO_CUDA_O_LATE=2")
order="base late_gdn late_all"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2 3; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,20p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
