#!/bin/bash
# kv_decode v8 (mnemo) = 410a6bf + the ring meta's handover without a fence and an arrival at the end of every head:
# each block counts itself before its wait (after a barrier whose predicate reads the meta), head 0 writes the next
# meta once all have. mnemo_v1 = 410a6bf.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=570
trace() {
  local name=$1 bin=$2; shift 2; head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env "$@" CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_$name.csv" \
    "$here/$bin" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/trace_$name.json" 2>"$out/trace_$name.log"
  python3 "$here/kernel_trace.py" "$out/trace_$name.csv" --skip 16 > "$out/report_$name.txt" 2>&1; head -13 "$out/report_$name.txt" | grep -E "span|kv_decode"
  gzip -f "$out/trace_$name.csv"
}
kernel_tests 90
grep -E "paper's LTE|Failure" "$out/test_cuda.log" | head
session_tests 240 "split MLP|lalte chunk 256|gdn_attn chunk 256|gdn_swa chunk 256|transformer chunk 256"
run_for 90 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*DecodeStepInOneLaunch*' > "$out/memcheck_kernels.log" 2>&1; echo "memcheck kernels exit $?"; grep "ERROR SUMMARY" "$out/memcheck_kernels.log"
run_for 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda_session" --gtest_filter='*Greedy*lalte:*PrefillDecode*gdn_attn:*PrefillDecode*gdn_swa:*SplitMlp*' > "$out/memcheck_session.log" 2>&1; echo "memcheck session exit $?"; grep "ERROR SUMMARY" "$out/memcheck_session.log"
lte_model mnemo
for r in 1 2 3; do graph v8 mnemo 1024; graph v1 mnemo_v1 1024; done
graph v8 mnemo 16384; graph v8 mnemo 131072
trace v8 mnemo
trace v1 mnemo_v1
mkdir -p /tmp/b /tmp/c && cp "$here"/mnemo "$here"/lib* /tmp/b/ && cp "$here"/lib* /tmp/c/ && cp "$here"/mnemo_v1 /tmp/c/mnemo
for r in 1 2; do
  run_for 120 bash bench/cuda/run_device.sh /tmp/b "$out/decode_v8_$r" decode > /dev/null 2>&1; echo "v8 $r"; grep -E "^ +[0-9]+K" "$out/decode_v8_$r/decode_lte.txt"
  run_for 120 bash bench/cuda/run_device.sh /tmp/c "$out/decode_v1_$r" decode > /dev/null 2>&1; echo "v1 $r"; grep -E "^ +[0-9]+K" "$out/decode_v1_$r/decode_lte.txt"
done
pack
