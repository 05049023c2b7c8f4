#!/bin/bash
# 2026-12-10 d (diagnostic variants of the fold, wrong outputs where parts are left out): MNEMO_DIAG_FOLD bits 1 no o_proj weight loads, 2 no atomics, 4 blocks but the first neither copy the partials nor combine, 8 no dot; the fold's weight loads volatile.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
lte_model mnemo
declare -A cfg=([fold]="" [off]="MNEMO_CUDA_FOLD_O=0" [d1]="MNEMO_DIAG_FOLD=1" [d2]="MNEMO_DIAG_FOLD=2" [d4]="MNEMO_DIAG_FOLD=4" [d8]="MNEMO_DIAG_FOLD=8" [d15]="MNEMO_DIAG_FOLD=15")
order="fold off d1 d2 d4 d8 d15"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 5,9p "$out/report_$n.txt"; sed -n 16,20p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
