#!/bin/bash
# Profile detail of the largest prefill kernels at chunk 4096; a 1K prompt at chunk 4096 against 1024.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
lte_model mnemo
head -c 8192 /tmp/prompt.txt > /tmp/p8k.txt; head -c 1024 /tmp/prompt.txt > /tmp/p1k.txt
secs="--section SpeedOfLight --section Occupancy --section WarpStateStats --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis --section LaunchStats"
run_for 240 ncu --clock-control none $secs -k 'regex:gdn_chunk|lte_layer_tiled|lte_tail|kv_plan_rank|kv_attend_tc|kv_combine|add_rms_norm|swiglu' --launch-skip 40 --launch-count 30 \
  "$here/mnemo" run -m "$bf" -f /tmp/p8k.txt -n 1 --backend cuda --chunk 4096 > "$out/ncu_full_4096.txt" 2>&1
grep -E "^  [a-z_]+.*\(|Duration|Compute \(SM\) Throughput|Memory Throughput|Achieved Occupancy|Registers Per|Shared Memory Configuration Size|Stall|Warp Cycles Per Issued|Issue Slots Busy|L1/TEX Hit|Bank" "$out/ncu_full_4096.txt" | head -300
for c in 4096 1024; do
run_for 100 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv "$here/mnemo" run -m "$bf" -f /tmp/p1k.txt -n 1 --backend cuda --chunk $c > "$out/ncu1k_$c.csv" 2>"$out/ncu1k_$c.log"
python3 "$here/sum.py" "$out/ncu1k_$c.csv" > "$out/ncu1k_${c}_summary.txt"; head -22 "$out/ncu1k_${c}_summary.txt"; gzip -f "$out/ncu1k_$c.csv"
done
pack
