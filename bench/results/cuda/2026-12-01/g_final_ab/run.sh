#!/bin/bash
# Final binary (commit in kv_decode, greedy sample on the device, score period 32): tests; mnemo bench decode
# (feed + sample) and graph decode against a76c67a (period 16) and the session's start a3b8ad5, alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=560
kernel_tests 90
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure|owed|lalte:"
lte_model mnemo
for r in 1 2 3; do for v in mnemo mnemo_a76 mnemo_start; do
  run_for 60 "$here/$v" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K,16K --decode-tokens 256 --no-roofline --model-dir "$models" --json "$out/b.json" >/dev/null 2>"$out/b.log"
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); cs=j['runs'][0]['contexts']; print(sys.argv[2], ' '.join(f\"{c['context']}: p50 {c['decode_ms_p50']:.4f} p99 {c['decode_ms_p99']:.4f} mean {c['decode_ms_mean']:.4f}\" for c in cs))" "$out/b.json" "$v" 2>&1 | tee -a "$out/bench_summary.txt"
done; done
for r in 1 2 3; do graph final mnemo 1024; graph a76c67a mnemo_a76 1024; graph start mnemo_start 1024; done
graph final mnemo 131072; graph start mnemo_start 131072
pack
