#!/bin/bash
# o_proj's grid before a split MLP per layer kind (EXP_O_GDN / EXP_O_LTE blocks; 66 = half the SMs, the default),
# and GDN's input projections capped (EXP_GDN_IN) so gdn_decode's blocks can start beside them.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
lte_model mnemo
for r in 1 2; do
  graph base mnemo 1024
  for g in 48 80; do graph gdn$g mnemo 1024 EXP_O_GDN=$g; done
  for l in 48 80; do graph lte$l mnemo 1024 EXP_O_LTE=$l; done
  graph gdn48_lte80 mnemo 1024 EXP_O_GDN=48 EXP_O_LTE=80
  graph gdn80_lte48 mnemo 1024 EXP_O_GDN=80 EXP_O_LTE=48
  for i in 232 248; do graph gdnin$i mnemo 1024 EXP_GDN_IN=$i; done
done
pack
