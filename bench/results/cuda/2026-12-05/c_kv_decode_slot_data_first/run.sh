#!/bin/bash
# kv_decode: v1 = the replace-min inputs and meta requested before the cache copies; v3 (mnemo) = v1 + scores
# in four chains, the softmax by the whole block, the combine's weights once a block, the plan/commit on block 1
# beside block 0's combine. mnemo_before = 4f58ba4. Tests, memcheck, graph A/B/C, trace, bench decode A/B.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
trace() {
  local name=$1 bin=$2; shift 2; head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env "$@" CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_$name.csv" \
    "$here/$bin" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/trace_$name.json" 2>"$out/trace_$name.log"
  python3 "$here/kernel_trace.py" "$out/trace_$name.csv" --skip 16 > "$out/report_$name.txt" 2>&1; head -13 "$out/report_$name.txt"
  gzip -f "$out/trace_$name.csv"
}
run_for 60 "$here/test_cuda" --gtest_filter='*Decode*' > "$out/test_cuda_decode.log" 2>&1; echo "test_cuda decode exit $?"; grep -E "max \|out|PASSED|FAILED|Failure" "$out/test_cuda_decode.log" | head -40
session_tests 240 "split MLP|lalte chunk 256|gdn_attn chunk 256|swa|nsa"
run_for 90 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*DecodeStepInOneLaunch*' > "$out/memcheck_kernels.log" 2>&1; echo "memcheck kernels exit $?"; grep "ERROR SUMMARY" "$out/memcheck_kernels.log"
run_for 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda_session" --gtest_filter='*Greedy*lalte:*PrefillDecode*gdn_attn:*SplitMlp*' > "$out/memcheck_session.log" 2>&1; echo "memcheck session exit $?"; grep "ERROR SUMMARY" "$out/memcheck_session.log"
lte_model mnemo
for r in 1 2 3; do graph v3 mnemo 1024; graph v1 mnemo_v1 1024; graph before mnemo_before 1024; done
graph v3 mnemo 16384; graph v3 mnemo 131072
trace v3 mnemo
trace v1 mnemo_v1
mkdir -p /tmp/b /tmp/a && cp "$here"/mnemo "$here"/lib* /tmp/b/ && cp "$here"/lib* /tmp/a/ && cp "$here"/mnemo_before /tmp/a/mnemo
for r in 1 2; do
  run_for 120 bash bench/cuda/run_device.sh /tmp/b "$out/decode_v3_$r" decode > /dev/null 2>&1; echo "v3 $r"; grep -E "^ +[0-9]+K" "$out/decode_v3_$r/decode_lte.txt"
  run_for 120 bash bench/cuda/run_device.sh /tmp/a "$out/decode_before_$r" decode > /dev/null 2>&1; echo "before $r"; grep -E "^ +[0-9]+K" "$out/decode_before_$r/decode_lte.txt"
done
pack
