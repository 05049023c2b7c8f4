#!/bin/bash
# Greedy mnemo_session_sample on the device (argmax there, one id back): session tests, then mnemo bench's
# decode (feed + sample per token) against dcc1d89 (mnemo_before), alternating, and graph decode once each.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=500
session_tests 220 "lalte chunk 256|gdn_attn chunk 256|Failure|owed|lalte:|GreedySample"
lte_model mnemo
for r in 1 2 3; do for v in mnemo mnemo_before; do
  run_for 60 "$here/$v" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K,16K --decode-tokens 64 --no-roofline --model-dir "$models" --json "$out/b.json" >/dev/null 2>"$out/b_$v.log"
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); r=j['runs'][0] if 'runs' in j else j; cs=r['contexts']; print(sys.argv[2], ' '.join(f\"{c['context'] if 'context' in c else c.get('position_at_decode')}: p50 {c['decode_ms_p50']:.4f} p99 {c['decode_ms_p99']:.4f}\" for c in cs))" "$out/b.json" "$v" 2>&1 | tee -a "$out/bench_summary.txt"
done; done
for r in 1 2; do graph new mnemo 1024; graph before mnemo_before 1024; done
cp "$out/b.json" "$out/bench_last.json"
pack
