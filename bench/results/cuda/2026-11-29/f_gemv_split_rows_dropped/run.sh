#!/bin/bash
# Split rows (grid of twice the warps): one token's GEMV with fewer rows than half the grid's warps (o_proj, down) shares each row between a warp pair.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=500
ab() { echo "== $*"; run_for 60 env "$@" --reps 30 | grep -E "^bf16 |^q8_0"; }
{ for r in 1 2; do ab X=1 "$here/gemv_bench"; ab MNEMO_CUDA_GEMV_SPLIT=0 "$here/gemv_bench"; ab X=1 "$here/gemv_bench_before"; done; } 2>&1 | tee "$out/gemv_ab.txt"
lte_model mnemo
for r in 1 2 3; do graph split mnemo 1024; graph nosplit mnemo 1024 MNEMO_CUDA_GEMV_SPLIT=0; graph before mnemo_before 1024; done
graph split mnemo 16384; graph split mnemo 131072
pack
kernel_tests 120
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure"
grep -E "^\[  FAILED|Failure" -A5 "$out/test_cuda.log" | head -30
pack
