#!/bin/bash
# 2026-12-12 e: o_proj before a split MLP in blocks of 512 threads (MNEMO_CUDA_O_WIDE=1): the same ~64 SMs, a warp per row,
# every row requested before the wait. Session tests with it on, traces and mnemo bench against it off.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=420
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
MNEMO_CUDA_O_WIDE=1 run_for 150 "$here/test_cuda_session" >"$out/test_cuda_session_wide.log" 2>&1; echo "test_cuda_session (wide) exit $?"
grep -E "PASSED|FAILED|split MLP|lalte chunk 256|gdn_attn chunk 256|lalte: greedy" "$out/test_cuda_session_wide.log"
lte_model mnemo
declare -A cfg=([base]="" [wide]="MNEMO_CUDA_O_WIDE=1")
order="base wide"
for n in $order; do trace $n mnemo ${cfg[$n]}; done
for r in 1 2 3 4; do for n in $order; do bench1k $n mnemo ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,24p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz
pack
