#!/bin/bash
# The resident GEMV, second form: block g owns rows g, g + G, …; each warp cp.asyncs its rows, waits for its own.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
run_for 40 "$here/test_cuda" --gtest_filter='*Resident*:*GdnOutputNorm*' > "$out/resident_test.log" 2>&1; echo "resident test exit $?" | tee -a "$out/resident_test.log"
ab() { echo "== $*"; run_for 60 env "$@" --reps 30 | grep -E "^bf16 "; }
{
ab X=1 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_LATE=1 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_KB=24 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_KB=50 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_KB=50 MNEMO_CUDA_GEMV_RESIDENT_LATE=1 "$here/gemv_bench"
} 2>&1 | tee "$out/gemv_sweep.txt"
pack
lte_model mnemo
for r in 1 2; do graph resident mnemo 1024; graph late mnemo 1024 MNEMO_CUDA_GEMV_RESIDENT_LATE=1; graph kb50 mnemo 1024 MNEMO_CUDA_GEMV_RESIDENT_KB=50; graph before mnemo_before 1024; done
pack
run_for 100 ncu --clock-control none --metrics gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed --csv -k regex:gemv --launch-count 194 "$here/gemv_bench" --reps 1 > "$out/ncu_gemv.csv" 2>&1; echo "ncu exit $?"
pack
