#!/usr/bin/env bash
# Stream priorities (critical path high, side stream low): session tests, graph A/B by env.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[[ -x $here/mnemo ]] || tar xJf "$here/bins.tar.xz" -C "$here"
out=${OUT:-/tmp/out}/r; mkdir -p "$out"
budget=${BUDGET:-240}
pack() { tar czf "${OUT:-/tmp/out}/r.tgz" -C "$out" .; }
run_for() { local want=$1; shift; local l=$((budget - SECONDS)); if ((l < 15)); then echo "SKIPPED: $*" | tee -a "$out/skipped.txt"; return 125; fi; ((want > l)) && want=$l; timeout "$want" "$@"; }
cublas_dir=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null || true)
export LD_LIBRARY_PATH="$here:${cublas_dir}:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
[[ -d /work/main/tests/data/golden ]] || { mkdir -p /work && ln -sfn "$PWD" /work/main; }
models=/tmp/mnemo-models; mkdir -p "$models"
run_for 150 "$here/test_cuda_session" >"$out/test_cuda_session.log" 2>&1; echo "test_cuda_session exit $?" | tee -a "$out/test_cuda_session.log"
grep -E "FAILED|PASSED|Failure" "$out/test_cuda_session.log" | head -20; grep -E "chunk 256" "$out/test_cuda_session.log"
pack
run_for 60 "$here/mnemo" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K --decode-tokens 4 --no-roofline --model-dir "$models" >/dev/null 2>&1
bf=$(ls $models/*lte*bf16*.gguf | head -n1)
: >/tmp/prompt.txt; while [[ $(stat -c %s /tmp/prompt.txt) -lt 140000 ]]; do cat training/SEMANTICS.md >>/tmp/prompt.txt; done
g() { local name=$1 n=$2; shift 2; head -c $n /tmp/prompt.txt >/tmp/p.txt
  run_for 60 env "$@" "$here/mnemo" run -m "$bf" -f /tmp/p.txt -n 256 --backend cuda --chunk 1024 --json --quiet >"$out/g.json" 2>"$out/g.log"
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(sys.argv[2], sys.argv[3], 'decode ms/token', round(j['decode_ms_per_token'],4))" "$out/g.json" "$name" $n 2>&1 | tee -a "$out/graph_summary.txt"; }
for r in 1 2 3; do g priorities 1024; g no_priorities 1024 MNEMO_CUDA_PRIORITIES=0; done
g priorities 16384; g priorities 131072
pack
echo "total ${SECONDS} s" | tee -a "$out/total.txt"; pack
