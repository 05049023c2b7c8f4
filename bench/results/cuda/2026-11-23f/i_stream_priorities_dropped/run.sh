#!/usr/bin/env bash
# Stream priorities (critical path high, side stream low): session tests, graph A/B by env.
budget=240
. "$(dirname "$0")/../device_env.sh"
session_tests 150 "chunk 256"
pack
lte_model mnemo
for r in 1 2 3; do graph priorities mnemo 1024; graph no_priorities mnemo 1024 MNEMO_CUDA_PRIORITIES=0; done
graph priorities mnemo 16384; graph priorities mnemo 131072
echo "total ${SECONDS} s" | tee -a "$out/total.txt"; pack
