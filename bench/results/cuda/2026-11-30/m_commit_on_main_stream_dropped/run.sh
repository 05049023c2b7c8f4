#!/bin/bash
# Experiment: kv_commit on the main stream right after kv_decode (MNEMO_EXP_COMMIT_MAIN=1), the side stream
# only for the cadence's scoring steps; against the same binary without it. Session tests with it on.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
lte_model mnemo
for r in 1 2 3; do graph commit_main mnemo 1024 MNEMO_EXP_COMMIT_MAIN=1; graph side mnemo 1024; done
graph commit_main mnemo 131072 MNEMO_EXP_COMMIT_MAIN=1; graph side mnemo 131072
export MNEMO_EXP_COMMIT_MAIN=1
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure|owed"
pack
