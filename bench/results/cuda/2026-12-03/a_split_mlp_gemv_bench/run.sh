#!/bin/bash
# The split-MLP experiment in gemv_bench: f32 atomics and fixed-point (int64) atomics.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=200
for i in 1 2; do run_for 60 "$here/gemv_bench" --split-mlp --reps 100 2>&1 | tee -a "$out/gemv_split.txt"; done
pack
