#!/bin/bash
# 2026-12-12 h: the GEMV's parameter lines requested before its wait (MNEMO_CUDA_WARM_PARAMS=1): are the
# first reads of a launch's parameters (a new constant bank each launch) what its staging waits on?
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
lte_model mnemo
declare -A cfg=([base]="" [warm]="MNEMO_CUDA_WARM_PARAMS=1")
order="base warm"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2 3; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,18p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
