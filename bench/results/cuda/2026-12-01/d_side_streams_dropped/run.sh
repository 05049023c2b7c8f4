#!/bin/bash
# Side work spread over N side streams (MNEMO_CUDA_SIDE_STREAMS; 1 = the single side stream before): session
# tests at the default (4), then mnemo bench decode p50 / p99 / mean and graph decode for N = 1, 2, 4, 12, alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=540
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure|owed|lalte:"
lte_model mnemo
for r in 1 2; do for n in 1 2 4 12; do
  run_for 60 env MNEMO_CUDA_SIDE_STREAMS=$n "$here/mnemo" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K,16K --decode-tokens 128 --no-roofline --model-dir "$models" --json "$out/b.json" >/dev/null 2>"$out/b.log"
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); cs=j['runs'][0]['contexts']; print('streams', sys.argv[2], ' '.join(f\"{c['context']}: p50 {c['decode_ms_p50']:.4f} p99 {c['decode_ms_p99']:.4f} mean {c['decode_ms_mean']:.4f}\" for c in cs))" "$out/b.json" "$n" 2>&1 | tee -a "$out/bench_summary.txt"
done; done
for r in 1 2; do for n in 1 4 12; do graph streams_$n mnemo 1024 MNEMO_CUDA_SIDE_STREAMS=$n; done; done
run_for 100 compute-sanitizer --tool memcheck "$here/test_cuda_session" --gtest_filter='*Batches*:*Greedy*' > "$out/memcheck.log" 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck.log"
pack
