#!/usr/bin/env bash
# Runs on the GPU machine (see docs/performance-cuda.md): the CUDA backend's tests against
# the CPU on every golden model, compute-sanitizer memcheck on them, and the decode /
# prefill benchmark at the paper's 0.4B shape (laLTE and GDN+Attn, bf16 random weights).
#   bench/cuda/run_device.sh BIN_DIR OUT_DIR [tests|memcheck|bench|decode|graph|gemv|profile|trace|reference|issue9]...
# decode: laLTE 0.4B prefill/decode at 1K/16K/128K with the GPU roofline (before/after runs).
# profile: ncu kernel time by kernel over 16 greedy decode steps of the laLTE 0.4B model
# (clocks and caches as they are: the times a decode step sees).
# trace: the decode step's timeline as it runs (CUPTI through libmnemo_kernel_trace.so, graph and
# programmatic launches as they are): what each kernel costs the step (bench/cuda/kernel_trace.py).
# issue9: every GPU figure issue 9 asks for in one step (~5 minutes on an H100): mnemo bench
# --backend cuda at 0.4B (laLTE, GDN+Attn) and 1.4B (laLTE), 1K/16K/128K, bf16, with the GPU
# roofline (copy bandwidth, cuBLAS peaks) and fractions of it, GPU memory, the backend the
# sessions ran on, and the PyTorch reference as the peer in the same run; JSON, Markdown
# tables and PNG plots (bench/plot_bench.py; needs matplotlib, else plot the JSON later).
# gemv: the decode step's 97 GEMVs alone in one graph, bf16 and q8_0 (bench/cuda/gemv_bench).
# BIN_DIR holds test_cuda_session, test_cuda, mnemo, gemv_bench and libmnemo_kernel_trace.so built with
# -DMNEMO_CUDA=ON (and any shared libraries the GPU machine lacks: libcupti.so.13 for trace).
set -uo pipefail
bin=$(cd "$1" && pwd) out=$2
shift 2
steps=("${@:-tests memcheck bench}")
mkdir -p "$out"
cublas_dir=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null || true)
export LD_LIBRARY_PATH="$bin:${cublas_dir}:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
status=0
# The bf16 0.4B laLTE model (written by mnemo bench once) in $model.
lte_model() {
  [[ -f /tmp/mnemo-models/bench-paper-0.4b-lte-bf16.gguf ]] || "$bin/mnemo" bench --shape paper-0.4b --mixer lte --type bf16 \
    --backend cuda --contexts 1K --decode-tokens 4 --no-roofline --model-dir /tmp/mnemo-models >/dev/null 2>&1
  model=$(ls /tmp/mnemo-models/*lte*.gguf | head -n1)
}
# A prompt of the first N bytes of training/SEMANTICS.md repeated (byte tokenizer: N tokens) in /tmp/p.txt.
prompt_of() {
  : >/tmp/prompt.txt
  while [[ $(stat -c %s /tmp/prompt.txt) -lt $1 ]]; do cat "$(dirname "$0")/../../training/SEMANTICS.md" >>/tmp/prompt.txt; done
  head -c "$1" /tmp/prompt.txt >/tmp/p.txt
}
for step in ${steps[@]}; do
  case $step in
    tests)
      "$bin/test_cuda" 2>&1 | tee "$out/test_cuda.log" | tail -3 || status=1
      "$bin/test_cuda_session" 2>&1 | tee "$out/test_cuda_session.log" | grep -E "max \||agreed|not supported|FAILED|PASSED|Failure|error" || status=1
      ;;
    memcheck)
      compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 "$bin/test_cuda_session" \
        --gtest_filter='*PrefillDecode*lalte:*PrefillDecode*gdn_attn:*Greedy*lalte:*Snapshot*gdn_swa:*Sampling*lalte:*Generate*gdn_attn:*SplitMlp*' \
        >"$out/memcheck.log" 2>&1
      echo "memcheck exit $?" | tee -a "$out/memcheck.log"
      compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/test_cuda" >"$out/memcheck_kernels.log" 2>&1
      echo "memcheck (kernels) exit $?" | tee -a "$out/memcheck_kernels.log"
      grep -E "ERROR SUMMARY" "$out/memcheck_kernels.log"
      grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck.log"
      ;;
    bench)
      for mixer in lte attn; do
        "$bin/mnemo" bench --shape paper-0.4b --mixer $mixer --type bf16 --backend cuda --contexts 1K,16K,128K \
          --decode-tokens 64 --max-seconds 240 --no-roofline --json "$out/bench_cuda_$mixer.json" 2>&1 | tail -25
      done
      ;;
    decode)
      # laLTE 0.4B only (bf16): prefill, decode p50 (single-token feeds) and the GPU
      # roofline at 1K/16K/128K: the before/after figure of a decode change.
      "$bin/mnemo" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K,16K,128K --decode-tokens 64 \
        --max-seconds 240 --model-dir /tmp/mnemo-models --json "$out/decode_lte.json" >"$out/decode_lte.txt" 2>"$out/decode_lte.log"
      cat "$out/decode_lte.txt"
      ;;
    graph)
      # Greedy generation through the public API: one CUDA graph replay per token (byte
      # tokenizer: a prompt of n bytes is n tokens).
      lte_model
      for n in 1024 16384 131072; do
        prompt_of $n
        "$bin/mnemo" run -m "$model" -f /tmp/p.txt -n 256 --backend cuda --json --quiet >"$out/graph_decode_$n.json"
        python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(sys.argv[2], 'prompt', j['prompt_tokens'], 'decode ms/token', round(j['decode_ms_per_token'],3), 'prefill tok/s', round(j['prefill_tokens_per_second']))" "$out/graph_decode_$n.json" $n
      done
      ;;
    gemv)
      "$bin/gemv_bench" --json "$out/gemv_bench.json" 2>&1 | tee "$out/gemv_bench.txt" || status=1
      ;;
    profile)
      # Kernel time by kernel over a short prompt and 16 greedy decode steps of the laLTE
      # 0.4B model (decode dominates the launches): where a decode step's time goes.
      lte_model
      prompt_of 200
      ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv --print-units base "$bin/mnemo" run -m "$model" -f /tmp/p.txt -n 16 \
        --backend cuda --quiet >"$out/ncu_decode.csv" 2>"$out/ncu_decode.log"
      python3 - "$out/ncu_decode.csv" <<'PY' | tee "$out/ncu_decode_summary.txt"
import csv, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
head = rows[0]; ki = head.index("Kernel Name"); vi = head.index("Metric Value")
tot = collections.Counter(); cnt = collections.Counter()
for r in rows[1:]:
    name = r[ki].replace("<unnamed>::", "").replace("(anonymous namespace)::", "").replace("void ", "").split("(")[0].split("<")[0]
    tot[name] += float(r[vi].replace(",", "")); cnt[name] += 1
all_ns = sum(tot.values())
print(f"{len(rows) - 1} kernels, {all_ns / 1e6:.2f} ms of kernel time")
for name, ns in tot.most_common(25):
    print(f"{ns / 1e3:10.1f} us {100 * ns / all_ns:5.1f} % {cnt[name]:6d} launches {ns / cnt[name] / 1e3:8.2f} us each  {name}")
PY
      ;;
    trace)
      # 1K prompt, 128 greedy tokens through the decode graph, every kernel's start and end.
      lte_model
      prompt_of 1024
      CUDA_INJECTION64_PATH="$bin/libmnemo_kernel_trace.so" MNEMO_KERNEL_TRACE="$out/trace_decode.csv" "$bin/mnemo" run -m "$model" \
        -f /tmp/p.txt -n 128 --backend cuda --chunk 1024 --quiet >/dev/null 2>"$out/trace_decode.log" || status=1
      # The whole report to the file first: a pipe into head would cut it at its 16th line.
      python3 "$(dirname "$0")/kernel_trace.py" "$out/trace_decode.csv" >"$out/trace_decode_report.txt" || status=1
      head -16 "$out/trace_decode_report.txt"
      gzip -f "$out/trace_decode.csv"
      ;;
    reference)
      for mixer in lte attn; do
        PYTHONUNBUFFERED=1 python3 "$(dirname "$0")/reference_bench.py" --mixer $mixer --contexts 1024,16384,131072 \
          --max-seconds 120 --json "$out/reference_$mixer.json" 2>&1 | tail -5
      done
      ;;
    issue9)
      here=$(cd "$(dirname "$0")" && pwd)
      common=(--type bf16 --backend cuda --contexts 1K,16K,128K --decode-tokens 32 --max-seconds 90
              --model-dir /tmp/mnemo-models --peer-torch-reference "$here/reference_bench.py" --peer-max-seconds 60
              --peer-timeout 150)
      # Each invocation bounded on its own (safety net: a killed run writes no JSON, the next still runs).
      timeout 240 "$bin/mnemo" bench --shape paper-0.4b --mixer lte,attn "${common[@]}" --json "$out/issue9_paper-0.4b.json" \
        >"$out/issue9_paper-0.4b.txt" 2>"$out/issue9_paper-0.4b.log" || { echo "issue9 0.4B: exit $?"; status=1; }
      timeout 300 "$bin/mnemo" bench --shape paper-1.4b --mixer lte "${common[@]}" --json "$out/issue9_paper-1.4b.json" \
        >"$out/issue9_paper-1.4b.txt" 2>"$out/issue9_paper-1.4b.log" || { echo "issue9 1.4B: exit $?"; status=1; }
      cat "$out"/issue9_paper-*.txt
      jsons=$(ls "$out"/issue9_paper-*.json 2>/dev/null)
      if [[ -n $jsons ]]; then
        python3 "$here/../plot_bench.py" $jsons -o "$out/issue9_cuda.png" --markdown "$out/issue9_cuda.md" \
          --title "mnemo bench --backend cuda (issue 9)" ||
          echo "issue9: no plot here (matplotlib?): python3 bench/plot_bench.py $out/issue9_paper-*.json -o issue9_cuda.png --markdown issue9_cuda.md"
      fi
      ;;
  esac
done
exit $status
