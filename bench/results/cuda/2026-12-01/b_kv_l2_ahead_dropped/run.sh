#!/bin/bash
# One binary (commit in kv_decode + MNEMO_CUDA_KV_L2 experiment): graph decode with the LTE cache pulled into L2
# by the q/k/v GEMV (1) or the MLP before it (2), against off (0), alternating; then ncu kernel times of 16 steps (off).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=420
lte_model mnemo
for r in 1 2 3; do for m in 0 1 2; do graph kv_l2_$m mnemo 1024 MNEMO_CUDA_KV_L2=$m; done; done
for m in 0 1 2; do graph kv_l2_$m mnemo 131072 MNEMO_CUDA_KV_L2=$m; done
head -c 200 training/SEMANTICS.md >/tmp/p_short.txt
run_for 150 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv --print-units base "$here/mnemo" run -m "$bf" -f /tmp/p_short.txt -n 16 --backend cuda --quiet >"$out/ncu_decode.csv" 2>"$out/ncu_decode.log"; echo "ncu exit $?"
gzip -k "$out/ncu_decode.csv"
pack
