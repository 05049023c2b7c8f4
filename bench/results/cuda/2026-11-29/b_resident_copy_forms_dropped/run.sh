#!/bin/bash
# The resident GEMV's copy forms: 0 one bulk copy per segment, 1 a bulk copy per row (warp 0's lanes),
# 2 16-byte cp.async by every thread; LATE=1 lets the next kernel in after the wait instead of at once.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
for c in 0 1 2; do MNEMO_CUDA_GEMV_RESIDENT_COPY=$c run_for 40 "$here/test_cuda" --gtest_filter='*Resident*' > "$out/resident_test_$c.log" 2>&1; echo "copy $c resident test exit $?"; done | tee "$out/resident_tests.txt"
ab() { echo "== $*"; run_for 60 env "$@" --reps 30 | grep -E "^bf16"; }
{
ab MNEMO_CUDA_GEMV_RESIDENT_COPY=0 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_COPY=1 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_COPY=2 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_COPY=2 MNEMO_CUDA_GEMV_RESIDENT_LATE=1 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_COPY=1 MNEMO_CUDA_GEMV_RESIDENT_LATE=1 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_COPY=2 MNEMO_CUDA_GEMV_RESIDENT_KB=24 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_COPY=2 MNEMO_CUDA_GEMV_RESIDENT_KB=50 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_COPY=2 MNEMO_CUDA_GEMV_RESIDENT_CARVEOUT=-1 "$here/gemv_bench"
ab MNEMO_CUDA_PDL=0 "$here/gemv_bench"
ab X=1 "$here/gemv_bench_before"
} 2>&1 | tee "$out/gemv_sweep.txt"
pack
lte_model mnemo
for r in 1 2; do graph copy2 mnemo 1024; graph copy1 mnemo 1024 MNEMO_CUDA_GEMV_RESIDENT_COPY=1; graph copy2_kb24 mnemo 1024 MNEMO_CUDA_GEMV_RESIDENT_KB=24; graph before mnemo_before 1024; done
pack
# Where the time goes: ncu over the bench's graph is not possible (one graph), so time a step's kernels one at a time.
run_for 120 ncu --clock-control none --metrics gpu__time_duration.sum --csv -k regex:gemv --launch-count 194 "$here/gemv_bench" --reps 1 > "$out/ncu_gemv.csv" 2>&1; echo "ncu exit $?"
pack
