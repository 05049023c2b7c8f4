#!/bin/bash
# The GEMV's input-norm weights read before the PDL wait (mnemo, gemv_bench) against 8da2f93 (mnemo_before) and
# 9eb595a's GEMVs (gemv_bench_before); the side stream's cost by leaving it out (mnemo_skip, MNEMO_EXP_SKIP=1: no LTE
# scoring launches, 2: no side stream at all; wrong outputs, attribution only); tests.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
for r in 1 2; do for v in gemv_bench gemv_bench_before; do echo "== $v"; run_for 40 "$here/$v" --reps 20 2>&1 | grep -E "^bf16 |^q8"; done; done 2>&1 | tee "$out/gemv_ab.txt"
lte_model mnemo
for r in 1 2 3; do graph new mnemo 1024; graph before mnemo_before 1024; done
for r in 1 2; do graph skip_scoring mnemo_skip 1024 MNEMO_EXP_SKIP=1; graph skip_side mnemo_skip 1024 MNEMO_EXP_SKIP=2; graph skip_none mnemo_skip 1024 MNEMO_EXP_SKIP=0; done
graph new mnemo 16384; graph new mnemo 131072
kernel_tests 80
session_tests 150 "lalte chunk 256|gdn_attn chunk 256|Failure"
pack
