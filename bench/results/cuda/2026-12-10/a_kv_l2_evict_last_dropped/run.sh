#!/bin/bash
# 2026-12-10 a: kv_decode's cache copies marked evict-last in L2 for a fraction of their lines (MNEMO_CUDA_KV_L2_KEEP=f), with the persisting set-aside (MNEMO_CUDA_L2_SET_ASIDE_MB).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=420
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > "$out/gpu.txt"
lte_model mnemo
declare -A cfg=([base]="" [sa]="MNEMO_CUDA_L2_SET_ASIDE_MB=64" [k25]="MNEMO_CUDA_KV_L2_KEEP=0.25 MNEMO_CUDA_L2_SET_ASIDE_MB=64" [k35]="MNEMO_CUDA_KV_L2_KEEP=0.35 MNEMO_CUDA_L2_SET_ASIDE_MB=64" [k50]="MNEMO_CUDA_KV_L2_KEEP=0.5 MNEMO_CUDA_L2_SET_ASIDE_MB=64" [k25n]="MNEMO_CUDA_KV_L2_KEEP=0.25" [k100]="MNEMO_CUDA_KV_L2_KEEP=1 MNEMO_CUDA_L2_SET_ASIDE_MB=64")
order="base sa k25 k35 k50 k25n k100"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,9p "$out/report_$n.txt"; head -2 "$out/trace_$n.log"; done
rm -f "$out"/trace_*.csv.gz
pack
