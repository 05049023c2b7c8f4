#!/bin/bash
# 2026-12-11 b (diagnostic, wrong outputs): the LTE layers' q/k/v projection left out (MNEMO_DIAG_SKIP_LTE_PROJ=1), and
# kv_decode loading the head's 48 KB of q/k/v rows a block into registers before its wait (MNEMO_DIAG_KV_LOADS_W=1):
# what a projection folded into kv_decode could save at most.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=420
lte_model mnemo
declare -A cfg=([base]="" [skip]="MNEMO_DIAG_SKIP_LTE_PROJ=1" [skip_load]="MNEMO_DIAG_SKIP_LTE_PROJ=1 MNEMO_DIAG_KV_LOADS_W=1" [load]="MNEMO_DIAG_KV_LOADS_W=1")
order="base skip skip_load load"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2 3; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,30p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
