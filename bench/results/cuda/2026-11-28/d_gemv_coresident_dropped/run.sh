#!/bin/bash
# The single-token GEMV bounded for 3 (mnemo: 80 registers) or 4 (mnemo_lb4: 64) blocks an SM while its grid stays
# at 2: room for the next kernel's first blocks beside it, so their first weights load under PDL before the wait.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
kernel_tests 90
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure"
for r in 1 2; do for b in gemv_bench gemv_bench_lb4 gemv_bench_before; do echo "== $b"; run_for 40 "$here/$b" --reps 30 | grep -E "^bf16 "; done; done 2>&1 | tee "$out/gemv_ab.txt"
lte_model mnemo
for r in 1 2 3; do graph lb3 mnemo 1024; graph lb4 mnemo_lb4 1024; graph before mnemo_before 1024; done
graph lb3 mnemo 16384; graph lb3 mnemo 131072; graph before mnemo_before 131072
pack
