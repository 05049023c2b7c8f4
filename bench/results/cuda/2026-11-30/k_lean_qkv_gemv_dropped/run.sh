#!/bin/bash
# Experiment: the LTE layers' q/k/v GEMV bounded for 3 blocks an SM at the largest shared-memory carveout, so
# kv_decode's blocks (64 registers, ~90 KB) can start beside it and copy the cache before its wait
# (MNEMO_EXP_LEAN=1), against the same binary without it and d52b598 (mnemo_before).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
lte_model mnemo
for r in 1 2 3; do graph lean mnemo 1024 MNEMO_EXP_LEAN=1; graph off mnemo 1024; graph before mnemo_before 1024; done
pack
