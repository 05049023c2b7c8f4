#!/bin/bash
# The GEMV's input staging with a compile-time stride: A (the loops' stride kThreadsGemv), C (A + 4 loads a
# thread before its stores), D (12 loads), B (the paced dense-chain build, its single GEMVs), before (6614a75).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
for r in 1 2; do for v in A C D B before; do
  echo "== $v"; run_for 40 "$here/gemv_bench_$v" --reps 20 > "$out/gemv_${v}_$r.txt" 2>&1; grep -E "^bf16 |^q8" "$out/gemv_${v}_$r.txt"
done; done 2>&1 | tee "$out/gemv_ab.txt"
lte_model mnemo_A
for r in 1 2 3; do for v in A C D before; do graph $v mnemo_$v 1024; done; done
for v in A D before; do graph $v mnemo_$v 16384; graph $v mnemo_$v 131072; done
pack
