#!/usr/bin/env bash
# 2026-11-23g h: the final kv_decode (16-byte aligned shared arrays): kernel and session tests,
# memcheck, racecheck, and generation through the graph against a_decode_one_launch's build.
source bench/results/cuda/2026-11-23f/device_env.sh
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
kernel_tests 120
grep -E "max \|out diff\|" "$out/test_cuda.log" | head -30
session_tests 300 "split decode|q8_0"
grep -E "chunk +(256|64|7): prefill" "$out/test_cuda_session.log" > "$out/parity_summary.txt"; wc -l < "$out/parity_summary.txt"
run_for 150 compute-sanitizer --tool memcheck --leak-check full "$here/test_cuda" --gtest_filter='*DecodeStep*' >"$out/memcheck_kernel.log" 2>&1; tail -1 "$out/memcheck_kernel.log"
run_for 150 compute-sanitizer --tool racecheck "$here/test_cuda" --gtest_filter='*DecodeStep*' >"$out/racecheck_kernel.log" 2>&1; tail -1 "$out/racecheck_kernel.log"
run_for 200 compute-sanitizer --tool memcheck "$here/test_cuda_session" --gtest_filter='*Greedy*lalte*:*SplitDecode*:*TokenByToken*lalte*' >"$out/memcheck_session.log" 2>&1; tail -1 "$out/memcheck_session.log"
lte_model mnemo
for r in 1 2 3; do graph new mnemo 1024; graph before mnemo_before 1024; done
graph new mnemo 16384; graph new mnemo 131072
graph split mnemo 1024 MNEMO_CUDA_DECODE_ATTN=split
pack
