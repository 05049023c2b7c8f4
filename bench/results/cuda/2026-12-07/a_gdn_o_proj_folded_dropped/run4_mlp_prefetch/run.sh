#!/bin/bash
# GDN's folded o_proj with the next GDN layer's o_proj requested into L2 by the split MLP before it: traces, bench A/B.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"  # trace, bench1k
budget=575
lte_model mnemo
trace nofold mnemo
trace fold mnemo MNEMO_CUDA_GDN_O_FOLD=1 MNEMO_CUDA_MLP_PREFETCH_O=0
trace foldpre mnemo MNEMO_CUDA_GDN_O_FOLD=1
trace noload mnemo MNEMO_CUDA_GDN_O_FOLD=1 MNEMO_CUDA_MLP_PREFETCH_O=0 MNEMO_DBG_FOLD=4
trace foldpre2 mnemo MNEMO_CUDA_GDN_O_FOLD=1
trace nofold2 mnemo
for r in 1 2; do bench1k nofold mnemo; bench1k foldpre mnemo MNEMO_CUDA_GDN_O_FOLD=1; done
pack
