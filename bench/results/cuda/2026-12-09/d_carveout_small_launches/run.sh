#!/bin/bash
# 2026-12-09 d: the preferred carveout for the launches under 48 KB of dynamic shared memory (MNEMO_CUDA_CARVEOUT=P) and, apart, for kv_decode (MNEMO_CUDA_KV_CARVEOUT=P).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
lte_model mnemo
declare -A cfg=([base]="" [s8]="MNEMO_CUDA_CARVEOUT=8" [s8k]="MNEMO_CUDA_CARVEOUT=8 MNEMO_CUDA_KV_CARVEOUT=100" [s0k]="MNEMO_CUDA_CARVEOUT=0 MNEMO_CUDA_KV_CARVEOUT=100" [s25]="MNEMO_CUDA_CARVEOUT=25" [k100]="MNEMO_CUDA_KV_CARVEOUT=100")
order="base s8 s8k s0k s25 k100"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2 3; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 6,9p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
