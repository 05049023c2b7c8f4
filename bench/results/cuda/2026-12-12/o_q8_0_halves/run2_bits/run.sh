#!/bin/bash
# 2026-12-12 o2: the q8_0 session test with the input in halves and in order (does it change the bits?).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=120
for v in 1 0 1 0; do
  MNEMO_CUDA_INPUT_HALVES=$v run_for 50 "$here/test_cuda_session" --gtest_filter='*Q8_0WeightsDecodeLikeTheCpu*' 2>&1 | grep -E 'q8_0:|PASSED|FAILED' | sed "s/^/halves=$v /" | tee -a "$out/q8_halves_bits.txt"
done
pack
