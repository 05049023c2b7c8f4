#!/bin/bash
# Diagnostic: globaltimer stamps of the decode kernels (entry, past the wait, staged, end) over 128 greedy tokens after 1K.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=240
lte_model mnemo
head -c 1024 /tmp/prompt.txt >/tmp/p.txt
for i in 1 2; do
  run_for 60 env MNEMO_DBG_STAMPS=/tmp/stamps_$i.bin "$here/mnemo" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/run_$i.json" 2>"$out/run_$i.log"
  tail -2 "$out/run_$i.log"
  python3 "$here/stamps.py" /tmp/stamps_$i.bin > "$out/stamps_$i.txt" 2>&1; cat "$out/stamps_$i.txt"
done
python3 - <<'P'
import numpy as np
a=np.fromfile('/tmp/stamps_1.bin',dtype=np.uint64); n=len(a)//6
a.reshape(-1,6)[n*3//4:n*3//4+40000].tofile('/tmp/stamps_1_part.bin')
P
gzip -c /tmp/stamps_1_part.bin > "$out/stamps_1_part.bin.gz"
pack
