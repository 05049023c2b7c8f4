#!/bin/bash
# The decode scorer's input rows staged with every load in flight (cp.async over rows × vectors) instead of a
# warp a row: tests, ncu of the scorer's layers, mnemo bench decode p50/p99/mean against a76c67a (mnemo_before).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=540
kernel_tests 90
session_tests 200 "lalte chunk 256|gdn_attn chunk 256|Failure|owed|lalte:"
lte_model mnemo
head -c 200 training/SEMANTICS.md >/tmp/p_short.txt
for v in mnemo mnemo_before; do
  run_for 90 ncu --clock-control none --cache-control none -k regex:lte_layer_kernel --metrics gpu__time_duration.sum --csv --print-units base "$here/$v" run -m "$bf" -f /tmp/p_short.txt -n 20 --backend cuda --quiet >"$out/ncu_$v.csv" 2>/dev/null
  python3 -c "
import csv,sys
rows=[r for r in csv.reader(open(sys.argv[1])) if len(r)>10]; h=rows[0]; vi=h.index('Metric Value'); gi=h.index('Grid Size'); bi=h.index('Block Size')
last=rows[-4:]; print(sys.argv[2], 'lte_layer_kernel x%d, last four (one layer):'%(len(rows)-1), ' '.join('%s/%s %.2f us'%(r[gi],r[bi],float(r[vi].replace(',',''))/1e3) for r in last))" "$out/ncu_$v.csv" "$v" | tee -a "$out/ncu_summary.txt"
done
for r in 1 2 3; do for v in mnemo mnemo_before; do
  run_for 60 "$here/$v" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K,16K --decode-tokens 128 --no-roofline --model-dir "$models" --json "$out/b.json" >/dev/null 2>"$out/b.log"
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); cs=j['runs'][0]['contexts']; print(sys.argv[2], ' '.join(f\"{c['context']}: p50 {c['decode_ms_p50']:.4f} p99 {c['decode_ms_p99']:.4f} mean {c['decode_ms_mean']:.4f}\" for c in cs))" "$out/b.json" "$v" 2>&1 | tee -a "$out/bench_summary.txt"
done; done
pack
