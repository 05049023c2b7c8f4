#!/usr/bin/env bash
# 2026-11-23g k: what each kind of decode work costs the graph step with the final kv_decode
# (experiment build: experiment.patch beside, not merged).
source bench/results/cuda/2026-11-23f/device_env.sh
lte_model mnemo_exp
for r in 1 2; do
  for skip in none decode side decode,side conv,rec decode,side,conv,rec; do graph "skip=$skip" mnemo_exp 1024 MNEMO_EXP_SKIP=$skip; done
done
pack
