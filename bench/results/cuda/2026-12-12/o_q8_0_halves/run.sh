#!/bin/bash
# 2026-12-12 o: q8_0 GEMV rows read their inputs in halves too: tests, memcheck of the new test, and mnemo bench at 1K
# for q8_0 and bf16 weights, the halves against MNEMO_CUDA_INPUT_HALVES=0, alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=400
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$out/gpu.txt"
kernel_tests 100
session_tests 150 "max \||agreed|split MLP"
run_for 100 compute-sanitizer --tool memcheck --error-exitcode 9 "$here/test_cuda" --gtest_filter='*Halves*:*Q8_0*' >"$out/memcheck_kernels.log" 2>&1
echo "memcheck kernels exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck_kernels.log"
b() {  # b NAME TYPE [VAR=v]
  local name=$1 type=$2; shift 2
  run_for 60 env "$@" "$here/mnemo" bench --shape paper-0.4b --mixer lte --type $type --backend cuda --contexts 1K --decode-tokens 256 \
    --no-roofline --model-dir "$models" --json "$out/bench_${name}_$r.json" >"$out/bench_${name}_$r.txt" 2>&1
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); c=j['runs'][0]['contexts'][0]; print(sys.argv[2], 'p50', round(c['decode_ms_p50'],4), 'mean', round(c['decode_ms_mean'],4))" "$out/bench_${name}_$r.json" $name 2>&1 | tee -a "$out/bench_summary.txt"
}
for r in 1 2 3; do b q8_halves q8_0; b q8_inorder q8_0 MNEMO_CUDA_INPUT_HALVES=0; b bf16_halves bf16; b bf16_inorder bf16 MNEMO_CUDA_INPUT_HALVES=0; done
rm -f "$out"/bench_*.json
pack
