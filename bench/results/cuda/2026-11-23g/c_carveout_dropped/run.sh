#!/usr/bin/env bash
# 2026-11-23g d: shared-memory carveout of every kernel (MNEMO_CUDA_CARVEOUT, experiment build) and ncu of kv_decode.
source bench/results/cuda/2026-11-23f/device_env.sh
lte_model mnemo
for r in 1 2 3; do
  graph default mnemo 1024; graph carveout100 mnemo 1024 MNEMO_CUDA_CARVEOUT=100; graph split_carveout100 mnemo 1024 MNEMO_CUDA_CARVEOUT=100 MNEMO_CUDA_DECODE_ATTN=split
done
graph split_default mnemo 1024 MNEMO_CUDA_DECODE_ATTN=split
head -c 200 training/SEMANTICS.md >/tmp/p_short.txt
for c in default 100; do
  env MNEMO_CUDA_CARVEOUT=$([[ $c == default ]] && echo -1 || echo 100) ncu --set full -k regex:kv_decode_kernel --launch-skip 60 --launch-count 1 "$here/mnemo" run -m "$bf" -f /tmp/p_short.txt -n 16 --backend cuda --quiet >"$out/ncu_kv_decode_$c.txt" 2>&1
  grep -E "Duration|Shared Memory Configuration|Achieved Occupancy|DRAM Throughput|Warp Cycles Per Issued|Max Active Clusters|Cluster Occupancy|stalled" "$out/ncu_kv_decode_$c.txt" | head -20
done
pack
