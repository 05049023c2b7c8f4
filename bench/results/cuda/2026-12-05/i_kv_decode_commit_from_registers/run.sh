#!/bin/bash
# kv_decode v9 (mnemo) = c9a6278 + block 0's commit from registers: the ring row it moves read before the wait, the
# token's key before RoPE after it; v9b (mnemo_b) = v9 + each block's combine weight computed once. mnemo_v8 = c9a6278.
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
run_for 60 "$here/test_cuda_b" --gtest_filter='*Decode*' > "$out/test_cuda_b.log" 2>&1; echo "test_cuda_b exit $?"; grep -E "PASSED|FAILED|Failure|paper's LTE" "$out/test_cuda_b.log" | head
session_tests 240 "split MLP|lalte chunk 256|gdn_attn chunk 256|gdn_swa chunk 256|transformer chunk 256"
run_for 90 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*DecodeStepInOneLaunch*' > "$out/memcheck_kernels.log" 2>&1; echo "memcheck kernels exit $?"; grep "ERROR SUMMARY" "$out/memcheck_kernels.log"
run_for 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda_session" --gtest_filter='*Greedy*lalte:*PrefillDecode*gdn_attn:*PrefillDecode*gdn_swa:*SplitMlp*' > "$out/memcheck_session.log" 2>&1; echo "memcheck session exit $?"; grep "ERROR SUMMARY" "$out/memcheck_session.log"
lte_model mnemo
for r in 1 2 3; do graph v9 mnemo 1024; graph v9b mnemo_b 1024; graph v8 mnemo_v8 1024; done
graph v9 mnemo 16384; graph v9 mnemo 131072
trace v9 mnemo
trace v9b mnemo_b
trace v8 mnemo_v8
mkdir -p /tmp/b /tmp/c && cp "$here"/mnemo "$here"/lib* /tmp/b/ && cp "$here"/lib* /tmp/c/ && cp "$here"/mnemo_v8 /tmp/c/mnemo
for r in 1 2; do
  run_for 120 bash bench/cuda/run_device.sh /tmp/b "$out/decode_v9_$r" decode > /dev/null 2>&1; echo "v9 $r"; grep -E "^ +[0-9]+K" "$out/decode_v9_$r/decode_lte.txt"
  run_for 120 bash bench/cuda/run_device.sh /tmp/c "$out/decode_v8_$r" decode > /dev/null 2>&1; echo "v8 $r"; grep -E "^ +[0-9]+K" "$out/decode_v8_$r/decode_lte.txt"
done
pack
