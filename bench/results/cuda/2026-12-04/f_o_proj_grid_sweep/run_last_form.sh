#!/bin/bash
# L2 prefetch of the weights ahead of the kernels that read them (MNEMO_CUDA_L2_PREFETCH 0/1/2/3), traced and timed.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=500
lte_model mnemo
trace() {
  local name=$1; shift; head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env "$@" CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_$name.csv" \
    "$here/mnemo" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/trace_$name.json" 2>"$out/trace_$name.log"
  python3 "$here/kernel_trace.py" "$out/trace_$name.csv" --skip 16 > "$out/report_$name.txt" 2>&1; head -16 "$out/report_$name.txt"
  gzip -f "$out/trace_$name.csv"
}
for r in 1 2; do graph base mnemo 1024; for b in 48 64 80; do graph o$b mnemo 1024 EXP_O_BLOCKS=$b; done
  for q in 132 196; do graph o64_qkv$q mnemo 1024 EXP_O_BLOCKS=64 EXP_QKV_BLOCKS=$q; done
  for g in 132 200 240; do graph o64_gdnin$g mnemo 1024 EXP_O_BLOCKS=64 EXP_GDNIN_BLOCKS=$g; done; done
pack
