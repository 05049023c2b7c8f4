#!/bin/bash
# o_proj on half the SMs before a split MLP (MNEMO_CUDA_O_HALF=0: the default grid): tests, memcheck of the new
# kernel test, gemv_bench (each chain launch on its own layer's weights now), graph decode and mnemo bench A/B, traces.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
trace() {
  local name=$1; shift; head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env "$@" CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_$name.csv" \
    "$here/mnemo" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/trace_$name.json" 2>"$out/trace_$name.log"
  python3 "$here/kernel_trace.py" "$out/trace_$name.csv" --skip 16 > "$out/report_$name.txt" 2>&1; head -12 "$out/report_$name.txt"
  gzip -f "$out/trace_$name.csv"
}
kernel_tests 150
grep -E "FewerBlocks" "$out/test_cuda.log"
session_tests 240 "split MLP|lalte chunk 256|gdn_attn chunk 256"
run_for 60 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*FewerBlocks*:*SplitMlp*' > "$out/memcheck_kernels.log" 2>&1; echo "memcheck exit $?"; grep "ERROR SUMMARY" "$out/memcheck_kernels.log"
run_for 60 "$here/gemv_bench" --reps 100 2>&1 | grep -E "bf16|bandwidth|chain" | tee "$out/gemv_bench.txt"
lte_model mnemo
for r in 1 2 3; do graph half mnemo 1024; graph full mnemo 1024 MNEMO_CUDA_O_HALF=0; done
graph half mnemo 16384; graph full mnemo 16384 MNEMO_CUDA_O_HALF=0; graph half mnemo 131072; graph full mnemo 131072 MNEMO_CUDA_O_HALF=0
trace half
trace full MNEMO_CUDA_O_HALF=0
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/lib* /tmp/b/
for r in 1 2; do
  run_for 120 bash bench/cuda/run_device.sh /tmp/b "$out/decode_half_$r" decode > /dev/null 2>&1; echo "half $r"; grep -E "^ +[0-9]+K" "$out/decode_half_$r/decode_lte.txt"
  MNEMO_CUDA_O_HALF=0 run_for 120 bash bench/cuda/run_device.sh /tmp/b "$out/decode_full_$r" decode > /dev/null 2>&1; echo "full $r"; grep -E "^ +[0-9]+K" "$out/decode_full_$r/decode_lte.txt"
done
pack
