#!/bin/bash
# The GDN rule's gates read before the wait and v in flight with q and k (mnemo_rule), plus
# kv_decode's RoPE turns computed before the wait (mnemo), against 3be2087 (mnemo_before):
# tests on mnemo, then graph decode at 1K alternating, 16K and 128K once each.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=480
kernel_tests 100
session_tests 200 "max|golden"
lte_model mnemo
for r in 1 2 3; do graph both mnemo 1024; graph rule mnemo_rule 1024; graph before mnemo_before 1024; done
graph both mnemo 16384; graph both mnemo 131072; graph before mnemo_before 131072
pack
