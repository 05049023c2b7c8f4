#!/bin/bash
# Early block counts per mixer kind (after GDN / after attention), traced.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"  # trace, bench1k
budget=560
kernel_tests 120
lte_model mnemo
trace before mnemo_before
trace r4 mnemo
for g in 40 52 60 66; do trace g${g}a60 mnemo MNEMO_CUDA_MLP_EARLY_GDN=$g MNEMO_CUDA_MLP_EARLY_ATTN=60; done
for a in 48 52 56; do trace g60a$a mnemo MNEMO_CUDA_MLP_EARLY_GDN=60 MNEMO_CUDA_MLP_EARLY_ATTN=$a; done
trace o72g56a56 mnemo MNEMO_CUDA_O_BLOCKS=72 MNEMO_CUDA_MLP_EARLY_GDN=56 MNEMO_CUDA_MLP_EARLY_ATTN=56
trace o72g60a52 mnemo MNEMO_CUDA_O_BLOCKS=72 MNEMO_CUDA_MLP_EARLY_GDN=60 MNEMO_CUDA_MLP_EARLY_ATTN=52
trace even mnemo MNEMO_CUDA_MLP_EARLY_RUNS=0
trace before2 mnemo_before
trace r4_2 mnemo
for r in 1 2; do graph before mnemo_before 1024; graph r4 mnemo 1024; graph g60a56 mnemo 1024 MNEMO_CUDA_MLP_EARLY_GDN=60 MNEMO_CUDA_MLP_EARLY_ATTN=56; graph o72g56a56 mnemo 1024 MNEMO_CUDA_O_BLOCKS=72 MNEMO_CUDA_MLP_EARLY_GDN=56 MNEMO_CUDA_MLP_EARLY_ATTN=56; done
pack
