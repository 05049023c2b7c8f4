#!/bin/bash
# review: the two small-model tests through their shared helper (small_paper_model).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=200
[[ -x $here/test_cuda_session ]] || tar xJf "$here/bins.tar.xz" -C "$here"
run_for 120 "$here/test_cuda_session" --gtest_filter='*SplitMlp*:*Publish*' 2>&1 | grep -E "OK \]|FAILED|PASSED|Failure|split MLP"
