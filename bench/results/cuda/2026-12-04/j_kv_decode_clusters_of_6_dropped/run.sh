#!/bin/bash
# kv_decode in clusters of 6 blocks (one an SM, 96 SMs; mnemo_b6) against 8 (two an SM, 64 SMs).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
trace() {
  local name=$1 bin=$2; shift 2; head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env "$@" CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_$name.csv" \
    "$here/$bin" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/trace_$name.json" 2>"$out/trace_$name.log"
  python3 "$here/kernel_trace.py" "$out/trace_$name.csv" --skip 16 > "$out/report_$name.txt" 2>&1; head -12 "$out/report_$name.txt"
  rm -f "$out/trace_$name.csv"
}
lte_model mnemo
for r in 1 2 3; do graph b8 mnemo 1024; graph b6 mnemo_b6 1024; done
trace b6 mnemo_b6
pack
