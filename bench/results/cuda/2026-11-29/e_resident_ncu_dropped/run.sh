#!/bin/bash
# ncu --set full of one resident SwiGLU GEMV (gate+up, 88 KB a block) and one streaming one, first launches.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
run_for 120 ncu --set full -k regex:gemv_resident_kernel --launch-skip 2 --launch-count 1 -o "$out/resident_swiglu" "$here/gemv_bench" --reps 1 > "$out/ncu1.log" 2>&1; echo "ncu exit $?"
run_for 120 ncu --set full -k regex:^gemv_kernel$ --launch-skip 14 --launch-count 1 -o "$out/streaming_swiglu" "$here/gemv_bench" --reps 1 > "$out/ncu2.log" 2>&1; echo "ncu exit $?"
for f in resident_swiglu streaming_swiglu; do ncu --import "$out/$f.ncu-rep" --page details > "$out/$f.txt" 2>&1; done
rm -f "$out"/*.ncu-rep
pack
