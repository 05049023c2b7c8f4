#!/bin/bash
# The LTE layers' q/k/v GEMV capped at N blocks (MNEMO_CUDA_QKV_BLOCKS=N, an experiment build of 410a6bf; 0: the
# default grid, 264) so kv_decode's clusters can start on the SMs it leaves free and copy the cache beside it.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
trace() {
  local name=$1 bin=$2; shift 2; head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env "$@" CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_$name.csv" \
    "$here/$bin" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/trace_$name.json" 2>"$out/trace_$name.log"
  python3 "$here/kernel_trace.py" "$out/trace_$name.csv" --skip 16 > "$out/report_$name.txt" 2>&1; head -13 "$out/report_$name.txt" | grep -E "span|kv_decode|gemv"
  gzip -f "$out/trace_$name.csv"
}
lte_model mnemo
for r in 1 2; do for n in 0 33 44 66 99 132; do graph qkv$n mnemo 1024 MNEMO_CUDA_QKV_BLOCKS=$n; done; done
trace qkv0 mnemo MNEMO_CUDA_QKV_BLOCKS=0
trace qkv66 mnemo MNEMO_CUDA_QKV_BLOCKS=66
pack
