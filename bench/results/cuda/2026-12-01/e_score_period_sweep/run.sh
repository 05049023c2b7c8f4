#!/bin/bash
# Score period swept (MNEMO_CUDA_SCORE_BATCH, cap raised to 256 for the experiment): mnemo bench decode p50/p99/mean
# at 1K and 16K (256 decode tokens), and graph decode (256 tokens), alternating.
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=520
lte_model mnemo
for r in 1 2; do for n in 16 32 64 128 256; do
  run_for 60 env MNEMO_CUDA_SCORE_BATCH=$n "$here/mnemo" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K,16K --decode-tokens 256 --no-roofline --model-dir "$models" --json "$out/b.json" >/dev/null 2>"$out/b.log"
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); cs=j['runs'][0]['contexts']; print('period', sys.argv[2], ' '.join(f\"{c['context']}: p50 {c['decode_ms_p50']:.4f} p99 {c['decode_ms_p99']:.4f} mean {c['decode_ms_mean']:.4f}\" for c in cs))" "$out/b.json" "$n" 2>&1 | tee -a "$out/bench_summary.txt"
done; done
for r in 1 2; do for n in 16 64 128; do graph period_$n mnemo 1024 MNEMO_CUDA_SCORE_BATCH=$n; done; done
pack
