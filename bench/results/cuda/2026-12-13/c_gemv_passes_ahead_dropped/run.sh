#!/bin/bash
# 2026-12-13 c: the GEMV's loads as a pass cursor, Ahead passes in flight (1 as before; 2 where a launch
# holds at most one block an SM, MNEMO_CUDA_GEMV_AHEAD=2: the o_projs on half the SMs; with
# MNEMO_CUDA_GEMV_BLOCKS_PER_SM=1 every GEMV). Tests as built and with AHEAD=2; traces and mnemo bench
# at 1K against the previous GEMV loop (mnemo_prev: b's GEMV-only form).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
kernel_tests 80
session_tests 120 "split MLP|lalte chunk 256|greedy on the device agreed"
mv "$out/test_cuda.log" "$out/test_cuda_ahead1.log"; mv "$out/test_cuda_session.log" "$out/test_cuda_session_ahead1.log"
export MNEMO_CUDA_GEMV_AHEAD=2
kernel_tests 80
session_tests 120 "split MLP|lalte chunk 256|greedy on the device agreed"
mv "$out/test_cuda.log" "$out/test_cuda_ahead2.log"; mv "$out/test_cuda_session.log" "$out/test_cuda_session_ahead2.log"
unset MNEMO_CUDA_GEMV_AHEAD
lte_model mnemo
declare -A bin=([prev]=mnemo_prev [cursor]=mnemo [ahead2]=mnemo [ahead2all]=mnemo)
declare -A cfg=([prev]="" [cursor]="" [ahead2]="MNEMO_CUDA_GEMV_AHEAD=2" [ahead2all]="MNEMO_CUDA_GEMV_AHEAD=2 MNEMO_CUDA_GEMV_BLOCKS_PER_SM=1")
order="prev cursor ahead2 ahead2all"
for n in $order; do trace $n ${bin[$n]} ${cfg[$n]}; done
for r in 1 2 3; do for n in $order; do bench1k $n ${bin[$n]} ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,12p "$out/report_$n.txt"; echo "mlp cost: $(grep -E '^ +[0-9]+ mlp_split' "$out/report_$n.txt" | awk '{print $(NF-2)}' | paste -sd' ')"; echo "gemv cost: $(grep -E '^ +[0-9]+ gemv_kernel' "$out/report_$n.txt" | awk '{print $(NF-2)}' | paste -sd' ')"; done
rm -f "$out"/trace_*.csv.gz "$out"/trace_*.json
pack
