#!/bin/bash
# Is the GEMV's input staging slowed by every block reading the same few KB (L2 hot spots)?
# gemv_bench's 97 GEMVs with block b reading copy b % R of x and the residual (R = 1, 2, 4, 8;
# patch in this folder), alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
[[ -x $here/gemv_bench ]] || tar xJf "$here/bins.tar.xz" -C "$here"
for r in 1 2 3; do for R in 1 2 4 8; do echo "R=$R"; MNEMO_EXP_X_REPLICAS=$R run_for 60 "$here/gemv_bench" 2>&1 | grep -E "bf16|q8_0|empty"; done; done | tee "$out/gemv_replicas.txt"
pack
