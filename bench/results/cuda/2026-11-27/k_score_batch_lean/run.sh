#!/bin/bash
# Batched decode scoring that leaves at once on steps with no batch due: weights read after the check (mnemo_late), + one block of rows (mnemo), against a1fd6d7 (mnemo_before).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=240
rm -f "$out/graph_summary.txt"
session_tests 150 "lalte chunk 256|gdn_attn chunk 256|owed|Failure"
lte_model mnemo
for r in 1 2 3; do graph late1 mnemo 1024; graph late mnemo_late 1024; graph before mnemo_before 1024; done
graph late1 mnemo 16384; graph late1 mnemo 131072
pack
