#!/bin/bash
# Input norms with every load before the sum's stores (GEMV and split MLP) against before; the no-weight-load floor; tests.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=575
lte_model mnemo
ab1k
trace new2 mnemo
trace before2 mnemo_before
trace noload_new mnemo MNEMO_DBG_LOAD=2
trace noload_before mnemo_before MNEMO_DBG_LOAD=2
kernel_tests 120
session_tests 200 "maxima|golden|Greedy"
pack
