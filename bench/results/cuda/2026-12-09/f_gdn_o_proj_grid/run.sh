#!/bin/bash
# 2026-12-09 f: GDN layers' o_proj grid before the split MLP (MNEMO_CUDA_GDN_O_BLOCKS=N; 0 the default grid; unset: half the SMs' worth, 66).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
lte_model mnemo
declare -A cfg=([base]="" [g0]="MNEMO_CUDA_GDN_O_BLOCKS=0" [g132]="MNEMO_CUDA_GDN_O_BLOCKS=132" [g100]="MNEMO_CUDA_GDN_O_BLOCKS=100" [g44]="MNEMO_CUDA_GDN_O_BLOCKS=44")
order="base g0 g132 g100 g44"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2 3; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; awk 'NR>12 && $1>=8 && $1<=11 {printf "%s:%s c%s | ", $1, substr($2,1,6), $(NF-2)}' "$out/report_$n.txt"; echo; done
rm -f "$out"/trace_*.csv.gz
pack
