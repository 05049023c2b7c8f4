#!/bin/bash
# 2026-12-11 e: kv_decode's clusters: 8 blocks a KV head (two an SM where the clusters pack them) against 7 and 6, and one
# block an SM (MNEMO_CUDA_DECODE_SMEM_KB=120), the q/k/v GEMV before it (MNEMO_CUDA_DECODE_PROJECT=0).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv > "$out/gpu.txt"
lte_model mnemo
P=MNEMO_CUDA_DECODE_PROJECT=0
declare -A cfg=([c8]="$P" [c8_1sm]="$P MNEMO_CUDA_DECODE_CLUSTER=8 MNEMO_CUDA_DECODE_SMEM_KB=120" [c7]="$P MNEMO_CUDA_DECODE_CLUSTER=7"
  [c7_1sm]="$P MNEMO_CUDA_DECODE_CLUSTER=7 MNEMO_CUDA_DECODE_SMEM_KB=120" [c6_1sm]="$P MNEMO_CUDA_DECODE_CLUSTER=6 MNEMO_CUDA_DECODE_SMEM_KB=120"
  [c4_1sm]="$P MNEMO_CUDA_DECODE_CLUSTER=4 MNEMO_CUDA_DECODE_SMEM_KB=120")
order="c8 c8_1sm c7 c7_1sm c6_1sm c4_1sm"
for n in $order; do trace $n mnemo ${cfg[$n]}; grep -h "clusters fit" "$out/trace_$n.log"; done
for r in 1 2; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 6,9p "$out/report_$n.txt"; sed -n 17,21p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
