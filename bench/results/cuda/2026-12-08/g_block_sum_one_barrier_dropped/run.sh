#!/bin/bash
# The GEMV's input norm sums with one barrier (block_sum without the reuse barrier on a kernel's first call) against 9f7b4dc; tests.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
lte_model mnemo
ab1k
trace new2 mnemo
trace before2 mnemo_before
for f in new before new2 before2; do echo "== $f"; sed -n 6,9p $out/report_$f.txt; done
kernel_tests 100
session_tests 150 "lalte chunk 256|gdn_attn chunk 256|agreed"
pack
