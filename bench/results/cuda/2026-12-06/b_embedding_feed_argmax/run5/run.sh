#!/bin/bash
# The LM head's fused argmax, the folded embedding (null-clear fixed), the early-heavy MLP split, the unsynchronised feed:
# tests + memcheck; traces; bench A/B at 1K; bench at 1K/16K/128K.
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
mkdir -p /tmp/b && cp "$here"/mnemo "$here"/test_cuda "$here"/test_cuda_session "$here"/lib* /tmp/b/
run_for 300 bash bench/cuda/run_device.sh /tmp/b "$out/final" tests memcheck 2>&1 | tail -30
lte_model mnemo
trace new mnemo
trace nofused mnemo MNEMO_CUDA_FUSED_ARGMAX=0
trace before mnemo_before
for r in 1 2 3; do bench1k new mnemo; bench1k before mnemo_before; bench1k nofused mnemo MNEMO_CUDA_FUSED_ARGMAX=0; done
r=0; graph new mnemo 1024; graph before mnemo_before 1024; graph new mnemo 16384; graph new mnemo 131072
run_for 150 bash bench/cuda/run_device.sh /tmp/b "$out/decode_new" decode 2>&1 | grep -E "^ +[0-9]+K|decode p50"
pack
