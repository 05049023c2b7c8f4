#!/usr/bin/env bash
# 2026-11-23g l: review refactor (new_score_index, retained_target, record_plan shared by kv_plan and kv_decode): tests.
source bench/results/cuda/2026-11-23f/device_env.sh


kernel_tests 100
session_tests 200 "split decode|lalte chunk"
pack
