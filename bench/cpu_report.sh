#!/usr/bin/env bash
# Reproduces the CPU measurements of docs/performance.md: the default shape (laLTE and the
# Transformer, with llama.cpp beside it), laLTE's decode at 1K against 1M (interleaved), and
# the paper's 0.4B shape. Writes JSON, text, Markdown tables and PNG plots to OUT_DIR.
#   bench/cpu_report.sh [BUILD_DIR] [OUT_DIR]
# Needs a build (scripts/test or cmake), python3-matplotlib, and llama.cpp's llama-bench
# (built by bench/peers/build_llama_cpp.sh into ../peers/llama.cpp when LLAMA_BENCH is unset
# and it is missing). Synthetic models are kept in MODEL_DIR (default ../peers/models:
# ~1 GB for the 0.4B shape), outside the checkout. Takes about an hour on 2 quiet cores.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
out=${2:-$here/bench/results/cpu}
models=${MODEL_DIR:-$here/../peers/models}
llama=${LLAMA_BENCH:-$here/../peers/llama.cpp/build/bin/llama-bench}
threads=${THREADS:-2}
mkdir -p "$out" "$models"
[[ -x "$llama" ]] || "$here/bench/peers/build_llama_cpp.sh" "$here/../peers/llama.cpp"
mnemo=("$build/tools/mnemo" bench --threads "$threads" --model-dir "$models")
py=/usr/bin/python3

lscpu > "$out/lscpu.txt"

# 1. Default shape: laLTE and Transformer from 1K to 1M (stopping where the Transformer's
#    prefill would take more than 10 minutes), llama.cpp on the same Transformer weights.
"${mnemo[@]}" --shape default --mixer lte,transformer --contexts 1K,4K,16K,64K,256K,1M --decode-tokens 64 \
  --max-seconds 600 --peer-llama-bench "$llama" --peer-max-context 16K --json "$out/default.json" | tee "$out/default.txt"

# 2. laLTE decode at 1K and at 1M, interleaved (one token on each in turn).
"${mnemo[@]}" --shape default --mixer lte --contexts 1K,1M --decode-tokens 256 --max-seconds 3000 --interleave \
  --json "$out/default_lte_1k_1m.json" | tee "$out/default_lte_1k_1m.txt"

# 3. The paper's 0.4B shape: laLTE and Transformer at 1K and 4K, llama.cpp beside them.
"${mnemo[@]}" --shape paper-0.4b --mixer lte,transformer --contexts 1K,4K --decode-tokens 32 --max-seconds 900 \
  --peer-llama-bench "$llama" --peer-max-context 4K --json "$out/paper-0.4b.json" | tee "$out/paper-0.4b.txt"

for name in default default_lte_1k_1m paper-0.4b; do
  "$py" "$here/bench/plot_bench.py" "$out/$name.json" -o "$out/$name.png" --markdown "$out/$name.md" --title "mnemo bench: $name"
done
