#!/bin/bash
# The grouped norm read ahead for heads of up to 256 values (the 1.4B model's GDN heads), its weights and
# silu(gate) staged in shared memory before the wait instead of registers (mnemo), against 3be2087
# (mnemo_before): tests, then graph decode of the 0.4B and the 1.4B laLTE models at 1K, alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=500
kernel_tests 100
session_tests 200 "max|golden"
lte_model mnemo
run_for 120 "$here/mnemo" bench --shape paper-1.4b --mixer lte --type bf16 --backend cuda --contexts 1K --decode-tokens 4 --no-roofline --model-dir "$models" >/dev/null 2>&1
b04=$bf; b14=$(ls $models/*1.4b*lte*bf16*.gguf | head -n1)
for r in 1 2 3; do
  bf=$b04; graph new_0.4b mnemo 1024; graph before_0.4b mnemo_before 1024
  bf=$b14; graph new_1.4b mnemo 1024; graph before_1.4b mnemo_before 1024
done
pack
