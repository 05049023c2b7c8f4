#!/bin/bash
# The resident GEMV: one token's rows copied into shared memory (bulk copies) before the PDL wait,
# the next kernel let in at once. mnemo/gemv_bench: this tree; *_before: 95e552d.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=570
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv > "$out/gpu.txt" 2>&1
run_for 60 "$here/test_cuda" --gtest_filter='*Resident*:*GdnOutputNorm*' > "$out/resident_test.log" 2>&1; echo "resident test exit $?" | tee -a "$out/resident_test.log"
grep -E "OK|FAILED|Failure|Expected|Which" "$out/resident_test.log" | head -20
for r in 1 2; do for b in gemv_bench gemv_bench_before; do echo "== $b"; run_for 60 "$here/$b" --reps 30 | grep -vE "^note"; done; done 2>&1 | tee "$out/gemv_ab.txt"
lte_model mnemo
for r in 1 2; do graph resident mnemo 1024; graph streaming mnemo 1024 MNEMO_CUDA_GEMV_RESIDENT_KB=0; graph before mnemo_before 1024; done
graph resident mnemo 16384; graph resident mnemo 131072
graph resident_kb64 mnemo 1024 MNEMO_CUDA_GEMV_RESIDENT_KB=64
graph resident_kb160 mnemo 1024 MNEMO_CUDA_GEMV_RESIDENT_KB=160
graph resident_nocarve mnemo 1024 MNEMO_CUDA_GEMV_RESIDENT_CARVEOUT=-1
graph resident mnemo 1024
pack
kernel_tests 120
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure"
run_for 90 compute-sanitizer --tool memcheck "$here/test_cuda" --gtest_filter='*Resident*' > "$out/memcheck_resident.log" 2>&1; echo "memcheck exit $?" | tee -a "$out/memcheck_resident.log"; tail -3 "$out/memcheck_resident.log"
pack
