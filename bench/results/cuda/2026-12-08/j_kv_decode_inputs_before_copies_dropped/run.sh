#!/bin/bash
# kv_decode: the step's inputs requested right past an early wait, before (all / half of) the cache copies
# (MNEMO_CUDA_KV_EARLY = % of copies issued before the wait; 0 default) against 9f7b4dc; tests; memcheck.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=575
lte_model mnemo
trace new mnemo
trace half mnemo MNEMO_CUDA_KV_EARLY=50
trace late mnemo MNEMO_CUDA_KV_EARLY=100
trace before mnemo_before
for r in 1 2 3; do bench1k new mnemo; bench1k half mnemo MNEMO_CUDA_KV_EARLY=50; bench1k before mnemo_before; done
trace new2 mnemo
trace before2 mnemo_before
for f in new half late before new2 before2; do echo "== $f"; sed -n 6,9p $out/report_$f.txt; done
kernel_tests 100
session_tests 150 "lalte chunk 256|gdn_attn chunk 256|agreed"
memcheck 120
pack
