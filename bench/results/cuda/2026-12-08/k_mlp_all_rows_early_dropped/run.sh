#!/bin/bash
# o_proj on fewer SMs so the split MLP's rows all go to blocks that start while it runs (MNEMO_CUDA_O_BLOCKS,
# MNEMO_CUDA_MLP_BLOCKS, MNEMO_CUDA_MLP_EARLY_BLOCKS): traces of a sweep, then bench of the best against the default.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
lte_model mnemo
trace base mnemo
trace o44m88 mnemo MNEMO_CUDA_O_BLOCKS=44 MNEMO_CUDA_MLP_BLOCKS=88 MNEMO_CUDA_MLP_EARLY_BLOCKS=88
trace o44e88 mnemo MNEMO_CUDA_O_BLOCKS=44 MNEMO_CUDA_MLP_EARLY_BLOCKS=88
trace o50e82 mnemo MNEMO_CUDA_O_BLOCKS=50 MNEMO_CUDA_MLP_EARLY_BLOCKS=82
trace o56e76 mnemo MNEMO_CUDA_O_BLOCKS=56 MNEMO_CUDA_MLP_EARLY_BLOCKS=76
trace o66e66 mnemo MNEMO_CUDA_MLP_EARLY_BLOCKS=66
trace o36m96 mnemo MNEMO_CUDA_O_BLOCKS=36 MNEMO_CUDA_MLP_BLOCKS=96 MNEMO_CUDA_MLP_EARLY_BLOCKS=96
trace base2 mnemo
for f in base o44m88 o44e88 o50e82 o56e76 o66e66 o36m96 base2; do echo "== $f $(grep span $out/report_$f.txt | cut -c1-60)"; sed -n 6,9p $out/report_$f.txt; done
for r in 1 2; do bench1k base mnemo; bench1k o44m88 mnemo MNEMO_CUDA_O_BLOCKS=44 MNEMO_CUDA_MLP_BLOCKS=88 MNEMO_CUDA_MLP_EARLY_BLOCKS=88; bench1k o44e88 mnemo MNEMO_CUDA_O_BLOCKS=44 MNEMO_CUDA_MLP_EARLY_BLOCKS=88; done
pack
