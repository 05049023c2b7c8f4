#!/bin/bash
# Only the GEMVs on the default grid let the next kernel launch before their wait (mnemo_notcapped: o_proj, capped to
# half the SMs before a split MLP, lets it launch after), against the final code (mnemo: every GEMV first).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=300
trace() {
  local name=$1 bin=$2; shift 2; head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env "$@" CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_$name.csv" \
    "$here/$bin" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/trace_$name.json" 2>"$out/trace_$name.log"
  python3 "$here/kernel_trace.py" "$out/trace_$name.csv" --skip 16 > "$out/report_$name.txt" 2>&1; head -13 "$out/report_$name.txt" | grep -E "span|kv_decode|gemv|mlp|gdn"
  gzip -f "$out/trace_$name.csv"
}
lte_model mnemo
for r in 1 2 3; do graph notcapped mnemo_notcapped 1024; graph final mnemo 1024; done
trace notcapped mnemo_notcapped
trace final mnemo
pack
