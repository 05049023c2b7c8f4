#!/usr/bin/env bash
# Runs on the GPU machine (see docs/performance-cuda.md): the CUDA backend's tests against
# the CPU on every golden model, compute-sanitizer memcheck on them, and the decode /
# prefill benchmark at the paper's 0.4B shape (laLTE and GDN+Attn, bf16 random weights).
#   bench/cuda/run_device.sh BIN_DIR OUT_DIR [tests|memcheck|bench]...
# BIN_DIR holds test_cuda_session, test_cuda and mnemo built with -DMNEMO_CUDA=ON (and
# any shared libraries the GPU machine lacks).
set -uo pipefail
bin=$(cd "$1" && pwd) out=$2
shift 2
steps=("${@:-tests memcheck bench}")
mkdir -p "$out"
cublas_dir=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null || true)
export LD_LIBRARY_PATH="$bin:${cublas_dir}:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
status=0
for step in ${steps[@]}; do
  case $step in
    tests)
      "$bin/test_cuda" 2>&1 | tee "$out/test_cuda.log" | tail -3 || status=1
      "$bin/test_cuda_session" 2>&1 | tee "$out/test_cuda_session.log" | grep -E "max \||agreed|not supported|FAILED|PASSED|Failure|error" || status=1
      ;;
    memcheck)
      compute-sanitizer --tool memcheck --leak-check full --error-exitcode 9 "$bin/test_cuda_session" \
        --gtest_filter='*PrefillDecode*lalte:*PrefillDecode*gdn_attn:*Greedy*lalte:*Snapshot*gdn_swa' >"$out/memcheck.log" 2>&1
      echo "memcheck exit $?" | tee -a "$out/memcheck.log"
      grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/memcheck.log"
      ;;
    bench)
      for mixer in lte attn; do
        "$bin/mnemo" bench --shape paper-0.4b --mixer $mixer --type bf16 --backend cuda --contexts 1K,16K,128K \
          --decode-tokens 64 --chunk 1024 --max-seconds 240 --no-roofline --json "$out/bench_cuda_$mixer.json" 2>&1 | tail -25
      done
      ;;
    graph)
      # Greedy generation through the public API: one CUDA graph replay per token.
      "$bin/mnemo" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K --decode-tokens 8 \
        --no-roofline --model-dir /tmp/mnemo-models >/dev/null 2>&1
      model=$(ls /tmp/mnemo-models/*lte*.gguf | head -n1)
      head -c 60000 "$(dirname "$0")/../../training/SEMANTICS.md" >/tmp/prompt.txt
      for n in 1024 16384; do
        head -c $n /tmp/prompt.txt >/tmp/p.txt
        "$bin/mnemo" run -m "$model" -f /tmp/p.txt -n 256 --backend cuda --chunk 1024 --json --quiet >"$out/graph_decode_$n.json"
        python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(sys.argv[2], 'prompt', j['prompt_tokens'], 'decode ms/token', round(j['decode_ms_per_token'],3), 'prefill tok/s', round(j['prefill_tokens_per_second']))" "$out/graph_decode_$n.json" $n
      done
      ;;
    reference)
      for mixer in lte attn; do
        PYTHONUNBUFFERED=1 python3 "$(dirname "$0")/reference_bench.py" --mixer $mixer --contexts 1024,16384,131072 \
          --max-seconds 120 --json "$out/reference_$mixer.json" 2>&1 | tail -5
      done
      ;;
  esac
done
exit $status
