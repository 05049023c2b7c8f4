#!/bin/bash
# 2026-12-12 review: the GEMV's staging after the review mend (each value's slot computed once; no default halves).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=200
kernel_tests 100
session_tests 150 "lalte chunk 256|gdn_attn chunk 256|greedy on the device|split MLP"
pack
