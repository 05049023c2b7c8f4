#!/bin/bash
# The GEMV's grouped input norm (GDN's o_proj) with its weights and silu(gate) read before the
# wait and the group's warp sums side by side: tests, then graph decode against the binary
# before (8fd9067), alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=480
kernel_tests 100
session_tests 200 "max|golden"
lte_model mnemo
ab_decode 3
pack
