#!/bin/bash
# 2026-12-13 f: the GEMV's first pass partly after its wait, behind the input's loads
# (MNEMO_CUDA_GEMV_PREWAIT = loads of 4 issued before the wait): 4 (as merged), 2, 0.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
for k in 2 0; do MNEMO_CUDA_GEMV_PREWAIT=$k run_for 60 "$here/test_cuda" > "$out/test_cuda_prewait$k.log" 2>&1; echo "test_cuda prewait $k exit $?"; grep -E "PASSED|FAILED" "$out/test_cuda_prewait$k.log"; done
lte_model mnemo
declare -A cfg=([p4]="MNEMO_CUDA_GEMV_PREWAIT=4" [p2]="MNEMO_CUDA_GEMV_PREWAIT=2" [p0]="MNEMO_CUDA_GEMV_PREWAIT=0")
order="p4 p2 p0"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2 3; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,12p "$out/report_$n.txt"; echo "gemv cost: $(grep -E '^ +[0-9]+ gemv_kernel' "$out/report_$n.txt" | awk '{print $(NF-2)}' | paste -sd' ')"; done
rm -f "$out"/trace_*.csv.gz "$out"/trace_*.json
pack
