#!/bin/bash
# Final commit (one device_major() behind the capability probes): kernel and session tests, graph decode at 1K / 16K / 128K, prefill at 16K.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=240
rm -f "$out/graph_summary.txt"
kernel_tests 60
session_tests 150 "lalte chunk 256|gdn_attn chunk 256|owed|Failure"
lte_model mnemo
graph final mnemo 1024; graph final mnemo 1024; graph final mnemo 16384; graph final mnemo 131072
run_for 60 "$here/mnemo" bench -m "$bf" --backend cuda --contexts 1K,16K --decode-tokens 4 --no-roofline 2>/dev/null | grep -E "^ *(1K|16K) " | tee -a "$out/ab_prefill.txt"
pack
