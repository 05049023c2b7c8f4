#!/bin/bash
# 2026-12-13 a: the whole-row input norm's 1/RMS applied to each row's sum (GEMV and split MLP: two
# barriers and a rescale pass fewer) against HEAD (mnemo_base): tests, traces, mnemo bench at 1K
# alternating, then the roofline run at 1K/16K/128K.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=585
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
kernel_tests 100
session_tests 150 "max \||agreed|sampled the CPU|split MLP"
lte_model mnemo
declare -A cfg=([new]=mnemo [base]=mnemo_base)
order="new base"
for n in $order; do trace $n ${cfg[$n]}; done
for r in 1 2 3; do for n in $order; do bench1k $n ${cfg[$n]}; done; done
for n in $order; do echo "== $n"; sed -n 2,12p "$out/report_$n.txt"; done
rm -f "$out"/trace_*.csv.gz "$out"/trace_*.json
run_for 200 "$here/mnemo" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K,16K,128K --decode-tokens 64 \
  --max-seconds 170 --model-dir "$models" --json "$out/decode_lte.json" >"$out/decode_lte.txt" 2>"$out/decode_lte.log"; cat "$out/decode_lte.txt"
pack
