#!/bin/bash
# 2026-12-12 g (diagnostic): globaltimer stamps of the decode kernels (2026-12-08 e_'s apply_stamps.py) with weights loaded (base)
# and with no weight loads at all (MNEMO_DBG_LOAD=2, 2026-12-08 c_'s apply_diag.py): where a GEMV's time goes when it has no bytes.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
lte_model mnemo
head -c 1024 /tmp/prompt.txt >/tmp/p.txt
for v in base noload base2 noload2; do
  case $v in noload*) e="MNEMO_DBG_LOAD=2";; *) e="MNEMO_DBG_NONE=1";; esac
  run_for 60 env $e MNEMO_DBG_STAMPS=/tmp/stamps_$v.bin "$here/mnemo" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/run_$v.json" 2>"$out/run_$v.log"
  tail -1 "$out/run_$v.log"
  python3 "$here/stamps.py" /tmp/stamps_$v.bin > "$out/stamps_$v.txt" 2>&1; echo "== $v"; cat "$out/stamps_$v.txt"
done
for r in 1 2; do bench1k base mnemo; bench1k noload mnemo MNEMO_DBG_LOAD=2; done
pack
