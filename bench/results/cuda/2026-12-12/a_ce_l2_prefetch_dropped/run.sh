#!/bin/bash
# 2026-12-12 a: copy-engine copies pulling bytes into L2 ahead of the kernels that read them.
# 1) l2ce: does a CE memcpy leave its source in L2, how fast is it, does it need SMs?
# 2) the decode step with MNEMO_CUDA_CE_PREFETCH variants (experiment build), traces and mnemo bench at 1K.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee "$out/gpu.txt"
nvcc -O2 -arch=sm_90 -o /tmp/l2ce "$here/l2ce.cu" && run_for 60 /tmp/l2ce 2>&1 | tee "$out/l2ce.txt"
lte_model mnemo
declare -A cfg=([base]="" [mlp]="MNEMO_CUDA_CE_PREFETCH=mlp" [mlpself]="MNEMO_CUDA_CE_PREFETCH=mlp,self" [cache]="MNEMO_CUDA_CE_PREFETCH=cache"
  [lm]="MNEMO_CUDA_CE_PREFETCH=lm" [mlpself_lm]="MNEMO_CUDA_CE_PREFETCH=mlp,self,lm")
order="base mlp mlpself cache lm mlpself_lm"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for n in $order; do python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(sys.argv[2], repr(j.get('text', j.get('output', '')))[:120])" "$out/trace_$n.json" $n 2>&1 | tee -a "$out/texts.txt"; done
for r in 1 2; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,12p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
