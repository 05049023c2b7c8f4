#!/bin/bash
# The next layer's input projections in the split MLP's blocks (cuda::MlpNext; MNEMO_CUDA_MLP_NEXT=0: a GEMV
# launch of their own): kernel and session tests, memcheck, graph decode A/B, traces of both, mnemo bench decode A/B.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
trace() {
  local name=$1; shift; head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env "$@" CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_$name.csv" \
    "$here/mnemo" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/trace_$name.json" 2>"$out/trace_$name.log"
  python3 "$here/kernel_trace.py" "$out/trace_$name.csv" --skip 16 > "$out/report_$name.txt" 2>&1; head -13 "$out/report_$name.txt"
  gzip -f "$out/trace_$name.csv"
}
kernel_tests 150
grep -E "SplitMlp|Failure|Expected|Which is" "$out/test_cuda.log" | head -20
session_tests 240 "split MLP|lalte chunk 256|gdn_attn chunk 256"
run_for 90 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*SplitMlp*' > "$out/memcheck_kernels.log" 2>&1; echo "memcheck kernels exit $?"; grep "ERROR SUMMARY" "$out/memcheck_kernels.log"
run_for 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda_session" --gtest_filter='*Greedy*lalte:*PrefillDecode*gdn_attn:*SplitMlp*' > "$out/memcheck_session.log" 2>&1; echo "memcheck session exit $?"; grep "ERROR SUMMARY" "$out/memcheck_session.log"
lte_model mnemo
for r in 1 2 3; do graph next mnemo 1024; graph own mnemo 1024 MNEMO_CUDA_MLP_NEXT=0; done
graph next mnemo 16384; graph next mnemo 131072
trace next
trace own MNEMO_CUDA_MLP_NEXT=0
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/lib* /tmp/b/
for r in 1 2; do
  run_for 120 bash bench/cuda/run_device.sh /tmp/b "$out/decode_next_$r" decode > /dev/null 2>&1; echo "next $r"; grep -E "^ +[0-9]+K" "$out/decode_next_$r/decode_lte.txt"
  MNEMO_CUDA_MLP_NEXT=0 run_for 120 bash bench/cuda/run_device.sh /tmp/b "$out/decode_own_$r" decode > /dev/null 2>&1; echo "own $r"; grep -E "^ +[0-9]+K" "$out/decode_own_$r/decode_lte.txt"
done
pack
