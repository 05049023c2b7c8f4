#!/bin/bash
# The resident GEMV (rows g, g + G, … a block): blocks an SM, bulk copies per row, late trigger.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=420
for v in "X=1" "MNEMO_CUDA_GEMV_RESIDENT_BULK=1" "MNEMO_CUDA_GEMV_RESIDENT_BLOCKS=2" "MNEMO_CUDA_GEMV_RESIDENT_BLOCKS=2 MNEMO_CUDA_GEMV_RESIDENT_BULK=1"; do
  run_for 40 env $v "$here/test_cuda" --gtest_filter='*Resident*:*GdnOutputNorm*' > "$out/resident_test.log" 2>&1; echo "$v resident test exit $?"; done | tee "$out/resident_tests.txt"
ab() { echo "== $*"; run_for 60 env "$@" --reps 30 | grep -E "^bf16 "; }
{
ab X=1 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_BULK=1 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_BULK=1 MNEMO_CUDA_GEMV_RESIDENT_LATE=1 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_BLOCKS=2 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_BLOCKS=2 MNEMO_CUDA_GEMV_RESIDENT_LATE=1 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_BLOCKS=2 MNEMO_CUDA_GEMV_RESIDENT_BULK=1 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_BLOCKS=3 "$here/gemv_bench"
ab MNEMO_CUDA_GEMV_RESIDENT_BLOCKS=3 MNEMO_CUDA_GEMV_RESIDENT_LATE=1 "$here/gemv_bench"
} 2>&1 | tee "$out/gemv_sweep.txt"
pack
run_for 60 env MNEMO_CUDA_GEMV_RESIDENT_BULK=1 ncu --clock-control none --metrics gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed --csv -k regex:gemv --launch-count 97 "$here/gemv_bench" --reps 1 > "$out/ncu_bulk.csv" 2>&1; echo "ncu exit $?"
run_for 60 env MNEMO_CUDA_GEMV_RESIDENT_BLOCKS=2 ncu --clock-control none --metrics gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed --csv -k regex:gemv --launch-count 97 "$here/gemv_bench" --reps 1 > "$out/ncu_blocks2.csv" 2>&1; echo "ncu exit $?"
pack
