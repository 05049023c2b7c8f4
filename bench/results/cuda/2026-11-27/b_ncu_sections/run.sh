#!/bin/bash
# ncu sections of the largest prefill kernels after the scorer on tensor cores.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=200
lte_model mnemo
head -c 8192 /tmp/prompt.txt > /tmp/p8k.txt
for k in lte_layer_mma_kernel lte_tail_kernel kv_attend_tc_kernel gdn_chunk_state_kernel; do
run_for 80 ncu --set full -k regex:$k -s 2 -c 1 "$here/mnemo" run -m "$bf" -f /tmp/p8k.txt -n 1 --backend cuda > "$out/ncu_$k.txt" 2>&1
grep -E "Duration|Registers Per|Achieved Occupancy|Theoretical Occupancy|Block Limit|Compute \(SM\) Throughput|Memory Throughput|L2 Hit|Issue Slots Busy|Stall|Warp Cycles Per Issued|Dynamic Shared|Grid Size|Waves" "$out/ncu_$k.txt" | head -30
done
pack
