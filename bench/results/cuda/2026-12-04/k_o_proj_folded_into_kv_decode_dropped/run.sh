#!/bin/bash
# The LTE layer's o_proj folded into kv_decode (fixed-point sums read by the split MLP's norm; MNEMO_CUDA_FOLD_O=0:
# the GEMV): tests, memcheck, graph decode A/B, trace, mnemo bench decode A/B.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
trace() {
  local name=$1; shift; head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env "$@" CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_$name.csv" \
    "$here/mnemo" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/trace_$name.json" 2>"$out/trace_$name.log"
  python3 "$here/kernel_trace.py" "$out/trace_$name.csv" --skip 16 > "$out/report_$name.txt" 2>&1; head -12 "$out/report_$name.txt"; sed -n 19,25p "$out/report_$name.txt"
  gzip -f "$out/trace_$name.csv"
}
kernel_tests 150
session_tests 240 "split MLP|lalte chunk 256|gdn_attn chunk 256"
run_for 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda_session" --gtest_filter='*SplitMlp*:*SplitDecode*' > "$out/memcheck_session.log" 2>&1; echo "memcheck session exit $?"; grep "ERROR SUMMARY" "$out/memcheck_session.log"
lte_model mnemo
for r in 1 2 3; do graph fold mnemo 1024; graph gemv mnemo 1024 MNEMO_CUDA_FOLD_O=0; done
trace fold
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/lib* /tmp/b/
for r in 1 2; do
  run_for 120 bash bench/cuda/run_device.sh /tmp/b "$out/decode_fold_$r" decode > /dev/null 2>&1; echo "fold $r"; grep -E "^ +[0-9]+K" "$out/decode_fold_$r/decode_lte.txt"
  MNEMO_CUDA_FOLD_O=0 run_for 120 bash bench/cuda/run_device.sh /tmp/b "$out/decode_gemv_$r" decode > /dev/null 2>&1; echo "gemv $r"; grep -E "^ +[0-9]+K" "$out/decode_gemv_$r/decode_lte.txt"
done
pack
