#!/usr/bin/env bash
# EXPERIMENT: time kinds of decode-step work by skipping them (MNEMO_EXP_SKIP, experiment build only).
. "$(dirname "$0")/../device_env.sh"
lte_model mnemo_exp 2000
for skip in none rope plan attend plan,attend side conv rec conv,rec rope,plan,attend,side rope,plan,attend,side,conv,rec none; do
  for rep in 1 2; do graph "skip $skip rep $rep" mnemo_exp 1024 MNEMO_EXP_SKIP=$skip; done
done
pack
