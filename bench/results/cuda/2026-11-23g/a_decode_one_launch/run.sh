#!/usr/bin/env bash
# 2026-11-23g: the decode step's RoPE, plan and attention in one launch (kv_decode).
source bench/results/cuda/2026-11-23f/device_env.sh
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee "$out/gpu.txt"
kernel_tests 120
grep -E "max \|out diff\||Decode" "$out/test_cuda.log" | head -30
session_tests 300 "split decode|lalte chunk|gdn_attn chunk|transformer chunk|gdn_swa chunk"
lte_model mnemo
for r in 1 2 3; do graph one mnemo 1024; graph split mnemo 1024 MNEMO_CUDA_DECODE_ATTN=split; done
graph one mnemo 16384; graph one mnemo 131072; graph split mnemo 131072 MNEMO_CUDA_DECODE_ATTN=split
run_for 150 compute-sanitizer --tool memcheck --leak-check full "$here/test_cuda" --gtest_filter='*DecodeStep*' >"$out/memcheck_kernel.log" 2>&1; tail -3 "$out/memcheck_kernel.log"
run_for 200 compute-sanitizer --tool memcheck "$here/test_cuda_session" --gtest_filter='*Greedy*lalte*:*SplitDecode*' >"$out/memcheck_session.log" 2>&1; tail -3 "$out/memcheck_session.log"
pack
