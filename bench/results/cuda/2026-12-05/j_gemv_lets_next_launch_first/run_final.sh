#!/bin/bash
# Final: the GEMV lets the next kernel launch before its wait (mnemo, the session's final code) against 2e8dd03
# (mnemo_head). run_device.sh's tests and memcheck steps on the final binaries; graph A/B; traces; mnemo bench decode
# A/B; gemv_bench.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=580
trace() {
  local name=$1 bin=$2; shift 2; head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env "$@" CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_$name.csv" \
    "$here/$bin" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/trace_$name.json" 2>"$out/trace_$name.log"
  python3 "$here/kernel_trace.py" "$out/trace_$name.csv" --skip 16 > "$out/report_$name.txt" 2>&1; head -13 "$out/report_$name.txt" | grep -E "span|kv_decode|gemv|mlp|gdn"
  gzip -f "$out/trace_$name.csv"
}
mkdir -p /tmp/b /tmp/a && cp "$here"/mnemo "$here"/test_cuda "$here"/test_cuda_session "$here"/lib* /tmp/b/ && cp "$here"/lib* /tmp/a/ && cp "$here"/mnemo_head /tmp/a/mnemo
run_for 330 bash bench/cuda/run_device.sh /tmp/b "$out/final" tests memcheck 2>&1 | tail -30
lte_model mnemo
for r in 1 2 3; do graph final mnemo 1024; graph head mnemo_head 1024; done
graph final mnemo 16384; graph final mnemo 131072
trace final mnemo
trace head mnemo_head
for r in 1 2; do
  run_for 120 bash bench/cuda/run_device.sh /tmp/b "$out/decode_final_$r" decode > /dev/null 2>&1; echo "final $r"; grep -E "^ +[0-9]+K" "$out/decode_final_$r/decode_lte.txt"
  run_for 120 bash bench/cuda/run_device.sh /tmp/a "$out/decode_head_$r" decode > /dev/null 2>&1; echo "head $r"; grep -E "^ +[0-9]+K" "$out/decode_head_$r/decode_lte.txt"
done
pack
