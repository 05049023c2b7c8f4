#!/bin/bash
# Stream priorities (the session's stream highest, the side stream lowest, kept by the graphs' kernel nodes) against
# MNEMO_CUDA_PRIORITY=0 in the same binary: session tests, then mnemo bench decode p50/p99/mean and graph decode, alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=540
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure|owed|lalte:"
lte_model mnemo
for r in 1 2 3; do for p in 1 0; do
  run_for 60 env MNEMO_CUDA_PRIORITY=$p "$here/mnemo" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K,16K --decode-tokens 256 --no-roofline --model-dir "$models" --json "$out/b.json" >/dev/null 2>"$out/b.log"
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); cs=j['runs'][0]['contexts']; print('priority', sys.argv[2], ' '.join(f\"{c['context']}: p50 {c['decode_ms_p50']:.4f} p99 {c['decode_ms_p99']:.4f} mean {c['decode_ms_mean']:.4f}\" for c in cs))" "$out/b.json" "$p" 2>&1 | tee -a "$out/bench_summary.txt"
done; done
for r in 1 2 3; do for p in 1 0; do graph priority_$p mnemo 1024 MNEMO_CUDA_PRIORITY=$p; done; done
pack
