#!/bin/bash
# Review: the rule's token step as one helper (gdr_token) shared by gated_delta_rule_kernel and gdn_decode_kernel:
# tests (same bits), memcheck, graph decode against 7122460 (mnemo_before).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
kernel_tests 150
grep -E "GdnDecodeStep|GatedDeltaRule" "$out/test_cuda.log" | grep -E "OK|FAILED"
session_tests 240 "split MLP|lalte chunk 256|gdn_attn chunk 256"
run_for 60 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*GdnDecodeStep*:*GatedDeltaRule*' > "$out/memcheck_kernels.log" 2>&1; echo "memcheck kernels exit $?"; grep "ERROR SUMMARY" "$out/memcheck_kernels.log"
lte_model mnemo
ab_decode 3
pack
