#!/bin/bash
# 2026-12-13 b: which half of a's change slowed the split MLP after the LTE layers: HEAD (base), both
# (mnemo: GEMV 124 registers), v4 (both, GEMV 117 registers), the GEMV's change alone, the MLP's alone.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
lte_model mnemo
declare -A cfg=([both]=mnemo [base]=mnemo_base [v4]=mnemo_v4 [gemvonly]=mnemo_gemvonly [mlponly]=mnemo_mlponly)
order="both base v4 gemvonly mlponly"
for n in $order; do trace $n ${cfg[$n]}; done
for r in 1 2 3; do for n in $order; do bench1k $n ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,12p "$out/report_$n.txt"; echo "mlp cost: $(grep -E '^ +[0-9]+ mlp_split' "$out/report_$n.txt" | awk '{print $6}' | paste -sd' ')"; echo "gemv cost: $(grep -E '^ +[0-9]+ gemv_kernel' "$out/report_$n.txt" | awk '{print $7}' | paste -sd' ')"; done
rm -f "$out"/trace_*.csv.gz "$out"/trace_*.json
pack
