#!/bin/bash
# 2026-12-10 b (diagnostic, wrong outputs): the step with the LTE layers' or the GDN layers' o_proj left out (MNEMO_DIAG_SKIP=lte_o / gdn_o).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
lte_model mnemo
declare -A cfg=([base]="" [lte_o]="MNEMO_DIAG_SKIP=lte_o" [gdn_o]="MNEMO_DIAG_SKIP=gdn_o")
order="base lte_o gdn_o"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,30p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
