#!/bin/bash
# kv_decode's phases (globaltimer and clock64 stamps, printed by block for two steps and two heads).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -x $here/mnemo_phases ]] || xz -dc "$here/mnemo_phases.xz" > "$here/mnemo_phases"; chmod +x "$here/mnemo_phases"
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=200
lte_model mnemo_phases
head -c 1024 /tmp/prompt.txt >/tmp/p.txt
for r in 1 2; do
  run_for 60 "$here/mnemo_phases" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet > "$out/phases_$r.txt" 2>&1
  grep KVD "$out/phases_$r.txt" | sort -k4,4n -k6,6n -k8,8n
done
pack
