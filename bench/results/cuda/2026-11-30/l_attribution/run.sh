#!/bin/bash
# Where b988e79's decode step goes: an attribution build that leaves out kinds of work (MNEMO_EXP_SKIP; wrong
# outputs by design, timing only): kv_decode, the side stream (kv_commit + cadence scoring), GDN's conv and rule.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
lte_model mnemo
for r in 1 2; do
  graph nothing mnemo 1024
  graph decode mnemo 1024 MNEMO_EXP_SKIP=decode
  graph side mnemo 1024 MNEMO_EXP_SKIP=side
  graph decode+side mnemo 1024 MNEMO_EXP_SKIP=decode,side
  graph conv+rec mnemo 1024 MNEMO_EXP_SKIP=conv,rec
  graph all mnemo 1024 MNEMO_EXP_SKIP=decode,side,conv,rec
done
pack
