#!/bin/bash
# 2026-12-09 a: chosen tokens published to mapped host memory (read_token without a copy and a stream sync) against MNEMO_CUDA_PUBLISH_TOKEN=0; the new test.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee "$out/gpu.txt"
run_for 60 "$here/test_cuda_session" --gtest_filter='*Publish*:*Greedy*lalte*:*Sampling*lalte*:*SplitMlp*' >"$out/publish_tests.log" 2>&1; echo "publish tests exit $?"; grep -E "OK \]|FAILED|PASSED|Failure|agreed|sampled" "$out/publish_tests.log" | head -30
lte_model mnemo
ab_switch MNEMO_CUDA_PUBLISH_TOKEN=0
pack
