#!/bin/bash
# GDN decode: the conv's weights and tail and the rule's state read before the PDL wait. Graph A/B
# against 2cdaa62 (mnemo_before), ncu kernel times of 16 decode steps (new and before), tests.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
lte_model mnemo
for r in 1 2 3; do graph new mnemo 1024; graph before mnemo_before 1024; done
graph new mnemo 16384; graph new mnemo 131072
kernel_tests 80
session_tests 150 "lalte chunk 256|gdn_attn chunk 256|Failure"
mkdir -p "$out/prof_new" "$out/prof_before"
run_for 150 bash bench/cuda/run_device.sh "$here" "$out/prof_new" profile >/dev/null 2>&1
mkdir -p /tmp/b; cp "$here/mnemo_before" /tmp/b/mnemo
run_for 150 bash bench/cuda/run_device.sh /tmp/b "$out/prof_before" profile >/dev/null 2>&1
rm -f "$out"/prof_*/ncu_decode.csv
head -30 "$out/prof_new/ncu_decode_summary.txt"; echo ==; head -30 "$out/prof_before/ncu_decode_summary.txt"
pack
