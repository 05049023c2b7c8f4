#!/bin/bash
# The LTE q/k/v GEMV as a copy of the GEMV kernel at the largest shared-memory carveout (EXP_QKV_ROOMY=blocks), so
# kv_decode's blocks (97 KB) could start beside it.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
trace() {
  local name=$1; shift; head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env "$@" CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_$name.csv" \
    "$here/mnemo" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/trace_$name.json" 2>"$out/trace_$name.log"
  python3 "$here/kernel_trace.py" "$out/trace_$name.csv" --skip 16 > "$out/report_$name.txt" 2>&1; head -12 "$out/report_$name.txt"; sed -n 20,24p "$out/report_$name.txt"
  rm -f "$out/trace_$name.csv"
}
lte_model mnemo
for r in 1 2; do graph base mnemo 1024; for q in 264 196 132; do graph roomy$q mnemo 1024 EXP_QKV_ROOMY=$q; done; done
trace roomy196 EXP_QKV_ROOMY=196
pack
