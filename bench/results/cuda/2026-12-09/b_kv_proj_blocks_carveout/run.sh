#!/bin/bash
# 2026-12-09 b: the LTE q/k/v GEMV on fewer blocks (MNEMO_CUDA_KV_PROJ_BLOCKS) and/or the GEMV at the largest shared-memory carveout (MNEMO_CUDA_GEMV_CARVEOUT), so kv_decode's clusters start beside it (its cache copy overlapping the projection).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
lte_model mnemo
declare -A cfg=([base]="" [c100]="MNEMO_CUDA_GEMV_CARVEOUT=100" [b132c]="MNEMO_CUDA_KV_PROJ_BLOCKS=132 MNEMO_CUDA_GEMV_CARVEOUT=100"
  [b100c]="MNEMO_CUDA_KV_PROJ_BLOCKS=100 MNEMO_CUDA_GEMV_CARVEOUT=100" [b66c]="MNEMO_CUDA_KV_PROJ_BLOCKS=66 MNEMO_CUDA_GEMV_CARVEOUT=100" [b132]="MNEMO_CUDA_KV_PROJ_BLOCKS=132")
order="base c100 b132c b100c b66c b132"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 6,9p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
