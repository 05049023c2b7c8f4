#!/bin/bash
# 2026-12-12 a, run 2: the batch memcpy API with cudaMemcpyFlagPreferOverlapWithCompute (copy engines?).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,driver_version --format=csv | tee "$out/gpu.txt"
nvcc -O2 -arch=sm_90 -o /tmp/l2ce "$here/l2ce.cu" && run_for 90 /tmp/l2ce 2>&1 | tee "$out/l2ce.txt"
lte_model mnemo
declare -A cfg=([base]="" [bmlp]="MNEMO_CUDA_CE_PREFETCH=mlp,batch" [bmlpself]="MNEMO_CUDA_CE_PREFETCH=mlp,self,batch" [bcache]="MNEMO_CUDA_CE_PREFETCH=cache,batch"
  [blm]="MNEMO_CUDA_CE_PREFETCH=lm,batch")
order="base bmlp bmlpself bcache blm"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for n in $order; do tail -2 "$out/trace_$n.log"; done
for r in 1 2; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,12p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
