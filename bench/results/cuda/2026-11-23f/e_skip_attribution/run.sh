#!/usr/bin/env bash
# EXPERIMENT: time kinds of decode-step work by skipping them (MNEMO_EXP_SKIP, experiment build only): bash .devcarry15/run.sh
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[[ -x $here/mnemo_exp ]] || tar xJf "$here/bins.tar.xz" -C "$here"
out=${OUT:-/tmp/out}/r; mkdir -p "$out"
cublas_dir=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null || true)
export LD_LIBRARY_PATH="$here:${cublas_dir}:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
models=/tmp/mnemo-models; mkdir -p "$models"
timeout 90 "$here/mnemo_exp" bench --shape paper-0.4b --mixer lte --type bf16 --backend cuda --contexts 1K --decode-tokens 4 --no-roofline --model-dir "$models" >/dev/null 2>&1
bf=$(ls $models/*lte*bf16*.gguf | head -n1)
: >/tmp/prompt.txt; while [[ $(stat -c %s /tmp/prompt.txt) -lt 2000 ]]; do cat training/SEMANTICS.md >>/tmp/prompt.txt; done
head -c 1024 /tmp/prompt.txt >/tmp/p.txt
for skip in none rope plan attend plan,attend side conv rec conv,rec rope,plan,attend,side rope,plan,attend,side,conv,rec none; do
  for rep in 1 2; do
    MNEMO_EXP_SKIP=$skip timeout 60 "$here/mnemo_exp" run -m "$bf" -f /tmp/p.txt -n 256 --backend cuda --chunk 1024 --json --quiet >"$out/g.json" 2>"$out/g.log"
    python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print('skip', sys.argv[2], 'rep', sys.argv[3], 'decode ms/token', round(j['decode_ms_per_token'],4))" "$out/g.json" "$skip" $rep 2>&1 | tee -a "$out/skip_summary.txt"
  done
done
tar czf "${OUT:-/tmp/out}/r.tgz" -C "$out" .
