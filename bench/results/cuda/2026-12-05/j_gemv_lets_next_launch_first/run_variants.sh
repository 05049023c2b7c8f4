#!/bin/bash
# Where a kernel lets the next launch, against 2e8dd03 (mnemo: every kernel after its programmatic wait):
# early = every kernel before its wait; e2 = every kernel but the split MLP; e3 = every kernel but the split MLP and
# GDN's decode launch; e4 = only the GEMVs.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
trace() {
  local name=$1 bin=$2; shift 2; head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env "$@" CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_$name.csv" \
    "$here/$bin" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/trace_$name.json" 2>"$out/trace_$name.log"
  python3 "$here/kernel_trace.py" "$out/trace_$name.csv" --skip 16 > "$out/report_$name.txt" 2>&1; head -13 "$out/report_$name.txt" | grep -E "span|kv_decode|gemv|mlp|gdn"
  gzip -f "$out/trace_$name.csv"
}
lte_model mnemo
for r in 1 2 3; do for v in early e2 e3 e4; do graph $v mnemo_$v 1024; done; graph head mnemo 1024; done
for v in e2 e3 e4; do trace $v mnemo_$v; done
pack
