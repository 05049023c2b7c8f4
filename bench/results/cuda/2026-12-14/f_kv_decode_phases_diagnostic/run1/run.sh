#!/bin/bash
# 2026-12-14 f (DIAGNOSTIC): kv_decode's phases stamped (apply_kvd_stamps.py on d456e61) in a traced
# run of 128 greedy tokens after a 1K prompt; kvd_stamps.py lines each launch up with the GEMV before it.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
lte_model mnemo
for k in 1 2; do
  head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env MNEMO_DBG_STAMPS=/tmp/stamps_$k.bin CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_stamps_$k.csv" \
    "$here/mnemo_stamps" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/run_$k.json" 2>"$out/run_$k.log"
  gzip -f "$out/trace_stamps_$k.csv"
  python3 "$here/kernel_trace.py" "$out/trace_stamps_$k.csv.gz" --skip 16 > "$out/report_stamps_$k.txt" 2>&1
  python3 "$here/kvd_stamps.py" /tmp/stamps_$k.bin "$out/trace_stamps_$k.csv.gz" 2>&1 | tee "$out/kvd_phases_$k.txt"
  sed -n 2,10p "$out/report_stamps_$k.txt"
done
trace plain mnemo; sed -n 2,10p "$out/report_plain.txt"
rm -f "$out"/*.csv.gz "$out"/trace_*.json
pack
