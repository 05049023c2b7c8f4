#!/bin/bash
# 2026-12-12 i (diagnostic): the GEMV's staging split into stamps (inputs summed, block_sum, staged, first row, end),
# with weights (base) and without weight loads (MNEMO_DBG_LOAD=2).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=200
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
lte_model mnemo
head -c 1024 /tmp/prompt.txt >/tmp/p.txt
for v in base noload; do
  case $v in noload*) e="MNEMO_DBG_LOAD=2";; *) e="MNEMO_DBG_NONE=1";; esac
  run_for 60 env $e MNEMO_DBG_STAMPS=/tmp/stamps_$v.bin "$here/mnemo" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/run_$v.json" 2>"$out/run_$v.log"
  tail -1 "$out/run_$v.log"
  python3 "$here/stamps9.py" /tmp/stamps_$v.bin > "$out/stamps9_$v.txt" 2>&1; echo "== $v"; cat "$out/stamps9_$v.txt"
done
rm -f "$out"/run_*.json
pack
