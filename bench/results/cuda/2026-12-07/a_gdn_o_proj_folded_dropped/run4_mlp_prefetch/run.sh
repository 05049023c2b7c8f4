#!/bin/bash
# GDN's o_proj folded into its decode launch: kernel + session tests, traces and bench A/B (MNEMO_CUDA_GDN_O_FOLD=0).
source "$(dirname "${BASH_SOURCE[0]}")/../bench/results/cuda/2026-11-23f/device_env.sh"
budget=575
trace() {
  local name=$1 bin=$2; shift 2; head -c 1024 /tmp/prompt.txt >/tmp/p.txt
  run_for 90 env "$@" CUDA_INJECTION64_PATH="$here/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_$name.csv" \
    "$here/$bin" run -m "$bf" -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --json --quiet >"$out/trace_$name.json" 2>"$out/trace_$name.log"
  python3 "$here/kernel_trace.py" "$out/trace_$name.csv" --skip 16 > "$out/report_$name.txt" 2>&1; echo "$name $(grep -E "span" "$out/report_$name.txt")"
  gzip -f "$out/trace_$name.csv"
}
bench1k() {
  local name=$1 bin=$2; shift 2
  run_for 60 env "$@" "$here/$bin" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K --decode-tokens 256 \
    --no-roofline --model-dir "$models" --json "$out/bench_${name}_$r.json" >"$out/bench_${name}_$r.txt" 2>&1
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); c=j['runs'][0]['contexts'][0]; print(sys.argv[2], 'p50', round(c['decode_ms_p50'],4), 'mean', round(c['decode_ms_mean'],4))" "$out/bench_${name}_$r.json" $name 2>&1 | tee -a "$out/bench_summary.txt"
}
lte_model mnemo
trace nofold mnemo
trace fold mnemo MNEMO_CUDA_GDN_O_FOLD=1 MNEMO_CUDA_MLP_PREFETCH_O=0
trace foldpre mnemo MNEMO_CUDA_GDN_O_FOLD=1
trace noload mnemo MNEMO_CUDA_GDN_O_FOLD=1 MNEMO_CUDA_MLP_PREFETCH_O=0 MNEMO_DBG_FOLD=4
trace foldpre2 mnemo MNEMO_CUDA_GDN_O_FOLD=1
trace nofold2 mnemo
for r in 1 2; do bench1k nofold mnemo; bench1k foldpre mnemo MNEMO_CUDA_GDN_O_FOLD=1; done
pack
