#!/bin/bash
# Review mend (device_attribute(); mma_c_row / mma_c_col for the scorer's C fragments): kernel and session tests, memcheck of the scorer test, prefill at 16K.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=200
kernel_tests 60
grep -E "scorer head size" "$out/test_cuda.log"
session_tests 150 "lalte chunk|gdn_attn chunk 256|owed|Failure"
run_for 60 compute-sanitizer --tool memcheck "$here/test_cuda" --gtest_filter='*LteScorer*' > "$out/memcheck.log" 2>&1; tail -1 "$out/memcheck.log"
lte_model mnemo
run_for 60 "$here/mnemo" bench -m "$bf" --backend cuda --contexts 16K --decode-tokens 4 --no-roofline 2>/dev/null | grep -E "^ *16K " | tee -a "$out/ab_prefill.txt"
pack
