#!/bin/bash
# 2026-12-12 j: the GEMV's first warp reads, before its wait, the parameters read after it (MNEMO_CUDA_WARM_PARAMS=1;
# indexed fields, so constant-bank loads as the code after the wait does); and the SM clock sampled during mnemo bench.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.applications.graphics,power.limit --format=csv | tee "$out/gpu.txt"
lte_model mnemo
declare -A cfg=([base]="" [warm]="MNEMO_CUDA_WARM_PARAMS=1")
order="base warm"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,clocks_throttle_reasons.active,utilization.gpu --format=csv -lms 100 > "$out/clocks.txt" 2>&1 &
smi=$!
for r in 1 2 3; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
kill $smi
sort -t, -k2 "$out/clocks.txt" | awk -F, '{print $2}' | sort | uniq -c | sort -rn | head -8
for n in $order; do echo "== $n"; sed -n 2,16p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz "$out"/trace_*.json
pack
