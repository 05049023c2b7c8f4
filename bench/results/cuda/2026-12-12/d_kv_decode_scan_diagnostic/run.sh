#!/bin/bash
# 2026-12-12 d (diagnostic, wrong plans): kv_decode without its sink/retained slot loads and replace-min scan before the wait
# (MNEMO_DBG_SCAN=1), or with them after the wait (2): is the part before the wait its last blocks' critical path?
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
lte_model mnemo
declare -A cfg=([base]="" [noscan]="MNEMO_DBG_SCAN=1" [scanafter]="MNEMO_DBG_SCAN=2")
order="base noscan scanafter"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2 3; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,20p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
