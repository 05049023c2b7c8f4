#!/bin/bash
# kv_decode's L2 requests of the MLP's weights (MNEMO_CUDA_KV_PREFETCH), with and without GDN's folded o_proj: traces, bench A/B.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"  # trace, bench1k
budget=575
lte_model mnemo
trace base mnemo
trace pf1 mnemo MNEMO_CUDA_KV_PREFETCH=1
trace fold mnemo MNEMO_CUDA_GDN_O_FOLD=1
trace foldpf2 mnemo MNEMO_CUDA_GDN_O_FOLD=1 MNEMO_CUDA_KV_PREFETCH=2
trace foldpf1 mnemo MNEMO_CUDA_GDN_O_FOLD=1 MNEMO_CUDA_KV_PREFETCH=1
for r in 1 2; do bench1k base mnemo; bench1k pf1 mnemo MNEMO_CUDA_KV_PREFETCH=1; bench1k foldpf2 mnemo MNEMO_CUDA_GDN_O_FOLD=1 MNEMO_CUDA_KV_PREFETCH=2; done
pack
